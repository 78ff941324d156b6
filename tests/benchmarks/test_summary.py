"""The harness's summary: targets judged on the right figure, ratios the right way round."""

from __future__ import annotations

from benchmarks._summary import summarise, table


def level(clients: int, rps: float, p50: float) -> dict[str, float]:
    return {"clients": clients, "requests_per_s": rps, "p50_ms": p50}


def test_latency_ratios_are_baseline_over_product_and_targets_are_judged() -> None:
    reports = {
        "embed": {
            "batch": 8,
            "max_cosine_gap": 2e-7,
            "images_per_s": {"pytorch_batch1": 50.0, "onnx_batch1": 125.0, "onnx_batched": 120.0},
        },
        "http": {
            "runtimes": {
                "onnx": {"levels": [level(1, 60.0, 15.0), level(4, 90.0, 40.0)]},
                "torch": {"levels": [level(1, 20.0, 50.0), level(4, 30.0, 120.0)]},
            }
        },
    }
    rows = {r["measure"]: r for r in summarise(reports)}
    batched = rows["encoder FP32, batched (8), incl. resize"]
    assert (batched["met"], round(batched["ratio"], 2)) == (False, 2.4)  # 120 < 130
    batch1 = rows["encoder FP32, batch 1, incl. resize"]
    assert batch1["met"] and round(batch1["value"], 1) == 8.0 and round(batch1["ratio"], 2) == 2.5
    p50 = rows["HTTP search p50, 1 client"]
    assert p50["met"] and round(p50["ratio"], 2) == round(50 / 15, 2)
    throughput = rows["HTTP search throughput, best of 2 client levels"]
    assert throughput["value"] == 90.0 and throughput["met"]  # 1 client: 60 req/s at 15 ms
    assert "both met at 1 clients: 60 req/s" in throughput["note"]
    assert "**no**" in table(list(rows.values()))


def test_search_picks_the_fastest_type_that_reaches_the_recall() -> None:
    size = {
        "n": 1_000_000,
        "dim": 256,
        "baselines": {"numpy_ms": 100.0},
        "types": {
            "Flat": {"query_ms": 40.0, "recall_at_10": 1.0, "factory": "Flat"},
            "HNSW": {"query_ms": 0.3, "recall_at_10": 0.90, "factory": "HNSW32"},
            "IVF-Flat": {"query_ms": 0.5, "recall_at_10": 0.99, "factory": "IVF4096,Flat"},
        },
    }
    (row,) = summarise({"search": [size]})
    assert "IVF-Flat" in row["measure"] and row["met"] and row["ratio"] == 200.0
    assert summarise({"decode": None}) == []


def test_command_times_are_judged_against_the_other_tree() -> None:
    def entry(median: float, rate: float = 0.0) -> dict[str, float]:
        return {"median_s": median, "cpu_median_s": median, "images_per_s": rate,
                "job_images_per_s": rate * 1.2}  # fmt: skip

    report = {
        "trees": [{"label": "current", "commit": "abc"}, {"label": "baseline", "commit": "def"}],
        "images": 1000,
        "search_images": 50,
        "results": {
            "help": {"current": entry(0.1), "baseline": entry(4.0)},
            "index": {"current": entry(9.5, 105.0), "baseline": entry(13.5, 74.0)},
        },
    }
    help_row, index_row = summarise({"commands": report})
    assert help_row["ratio"] == 40.0 and help_row["met"] is None
    assert help_row["baseline"] == {"name": "tree def", "value": 4.0}
    assert index_row["met"] and round(index_row["ratio"], 2) == round(105 / 74, 2)
    report["trees"] = report["trees"][:1]
    assert all(r["baseline"] is None for r in summarise({"commands": report}))
