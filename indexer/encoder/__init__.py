"""The encoder: decoding, preprocessing, the Siamese model, runtimes, registry, calibration."""
