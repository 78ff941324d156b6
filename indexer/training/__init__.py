"""Training and evaluating the Siamese encoder: data, augmentation, losses and miners, the
training loop, retrieval and verification measures, calibration and reports.

Import the modules themselves (`indexer.training.evaluate`, `indexer.training.run`, ...):
this package re-exports nothing, so importing one part never loads the others.
"""
