"""The targets of the performance issue against the steps' reports: one row per target.

Each row: what was measured, the target, the product's median, the baseline measured in
the same run and the ratio (how many times better the product is), and whether the target
is met. A step that did not run gives no rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Row = dict[str, Any]
MET = {True: "yes", False: "**no**", None: "—"}  # None: no target at this point
Reports = dict[str, Any]


def row(
    measure: str,
    target: str,
    value: float,
    unit: str,
    baseline: tuple[str, float] | None,
    met: bool | None,
    *,
    lower_is_better: bool = False,
    note: str = "",
) -> Row:
    ratio = None
    if baseline is not None and baseline[1] > 0 and value > 0:
        ratio = baseline[1] / value if lower_is_better else value / baseline[1]
    return {
        "measure": measure,
        "target": target,
        "value": value,
        "unit": unit,
        "baseline": None if baseline is None else {"name": baseline[0], "value": baseline[1]},
        "ratio": ratio,
        "met": met,
        "note": note,
    }


def decode_rows(report: list[dict[str, Any]]) -> list[Row]:
    targets = {"0.5 MP": 300.0, "12 MP": 40.0}
    rows = []
    for entry in report:
        want = targets.get(entry["size"])
        if want is None:
            continue
        rows.append(
            row(
                f"decode + resize, {entry['size']} JPEG, per core",
                f">= {want:.0f} img/s",
                entry["product_per_s"],
                "img/s",
                ("full decode + resize", entry["baseline_per_s"]),
                entry["product_per_s"] >= want,
            )
        )
    return rows


def embed_rows(report: dict[str, Any]) -> list[Row]:
    rates = report["images_per_s"]
    base = ("eager PyTorch, batch 1", rates["pytorch_batch1"])
    batch1_ms = 1000 / rates["onnx_batch1"]
    return [
        row(
            f"encoder FP32, batched ({report['batch']}), incl. resize",
            ">= 130 img/s",
            rates["onnx_batched"],
            "img/s",
            base,
            rates["onnx_batched"] >= 130,
        ),
        row(
            "encoder FP32, batch 1, incl. resize",
            "<= 10 ms",
            batch1_ms,
            "ms",
            ("eager PyTorch, batch 1", 1000 / rates["pytorch_batch1"]),
            batch1_ms <= 10,
            lower_is_better=True,
            note=agreement(report["max_cosine_gap"]),
        ),
        *int8_rows(report),
    ]


def agreement(gap: float) -> str:
    """How closely the ONNX and PyTorch embeddings agree (the bar: 1 - cosine < 1e-4)."""
    if gap < 1e-6:
        return "ONNX vs PyTorch: 1 - cosine < 1e-6 for every image"
    return f"ONNX vs PyTorch: largest 1 - cosine {gap:.1e}"


def int8_rows(report: dict[str, Any]) -> list[Row]:
    """The opt-in INT8 encoder: only worth offering if mAP drops by under one point."""
    quality, rates = report.get("map_at_r"), report["images_per_s"]
    if not quality or "onnx_int8_batched" not in rates:
        return []
    drop = quality["fp32"] - quality["int8"]
    return [
        row(
            f"INT8 encoder (opt-in), batched ({report['batch']}), incl. resize",
            "mAP@R drop < 1 point",
            rates["onnx_int8_batched"],
            "img/s",
            ("ONNX FP32 batched", rates["onnx_batched"]),
            drop < 0.01,
            note=f"mAP@R FP32 {quality['fp32']:.4f}, INT8 {quality['int8']:.4f}; batch 1 "
            f"{1000 / rates['onnx_int8_batch1']:.1f} ms",
        )
    ]


def indexing_rows(report: dict[str, Any]) -> list[Row]:
    by_name = {r["config"].split(")")[0] + ")": r for r in report["results"]}
    base = by_name.get("(base)")
    baseline = ("same pipeline, PyTorch encoder", base["images_per_s"]) if base else None
    rows = []
    for key, label in (("(a)", "embedded"), ("(int8)", "embedded, INT8 encoder"),
                       ("(c)", "Redis + 2 workers, PostgreSQL")):  # fmt: skip
        ours = by_name.get(key)
        if ours is None:
            continue
        rows.append(
            row(
                f"bulk indexing, whole `lookalike index` run, {report['images']} x 0.5 MP "
                f"JPEGs, {label}",
                ">= 100 img/s",
                ours["images_per_s"],
                "img/s",
                baseline,
                ours["images_per_s"] >= 100,
                note="includes interpreter start-up and imports (PyTorch: first run only)",
            )
        )
        if key == "(a)":
            base_job = (
                ("same pipeline, PyTorch encoder", base["job_images_per_s"]) if base else None
            )
            rows.append(
                row(
                    f"bulk indexing, the job (decode, embed, store, index), {label}",
                    ">= 100 img/s",
                    ours["job_images_per_s"],
                    "img/s",
                    base_job,
                    ours["job_images_per_s"] >= 100,
                    note="from job creation (after the scan) to its end",
                )
            )
    return rows


def command_rows(report: dict[str, Any]) -> list[Row]:
    """Start to exit of `lookalike` commands; beside them, another source tree's times when
    that was measured too (the code before a change)."""
    current, *others = [t["label"] for t in report["trees"]]
    other = others[0] if others else None
    commit = {t["label"]: t["commit"] for t in report["trees"]}
    results, rows = report["results"], []

    def baseline(entry: dict[str, Any], key: str) -> tuple[str, float] | None:
        return None if other is None else (f"tree {commit[other]}", entry[other][key])

    search = f"`lookalike search`, 1 query, {report['search_images']}-image catalog"
    for name, label in (("help", "`lookalike --help`"), ("search", search)):
        if name in results:
            entry = results[name]
            rows.append(
                row(
                    f"{label}, start to exit",
                    "—",
                    entry[current]["median_s"],
                    "s",
                    baseline(entry, "median_s"),
                    None,
                    lower_is_better=True,
                    note=f"CPU {entry[current]['cpu_median_s']:.2f} s",
                )
            )
    if "index" in results:
        entry = results["index"]
        rate = entry[current]["images_per_s"]
        rows.append(
            row(
                f"whole `lookalike index` run, {report['images']} x 0.5 MP JPEGs, embedded, "
                "export cached (commands step)",
                ">= 100 img/s",
                rate,
                "img/s",
                baseline(entry, "images_per_s"),
                rate >= 100,
                note=f"the job alone {entry[current]['job_images_per_s']:.1f} img/s",
            )
        )
    return rows


def search_rows(report: list[dict[str, Any]]) -> list[Row]:
    rows = []
    for size in report:
        numpy_ms = size["baselines"]["numpy_ms"]
        approximate = {k: v for k, v in size["types"].items() if k != "Flat"}
        good = {k: v for k, v in approximate.items() if v["recall_at_10"] >= 0.95}
        if size["n"] > 1_000_000:
            rows.extend(large_rows(size))
        if size["n"] == 1_000_000 and approximate:
            name, best = min((good or approximate).items(), key=lambda kv: kv[1]["query_ms"])
            rows.append(
                row(
                    f"search {size['n']:,} x {size['dim']}, one query ({name})",
                    "<= 1 ms at recall@10 >= 0.95",
                    best["query_ms"],
                    "ms",
                    ("numpy brute force", numpy_ms),
                    best["query_ms"] <= 1 and best["recall_at_10"] >= 0.95,
                    lower_is_better=True,
                    note=f"recall@10 {best['recall_at_10']:.3f}, `{best['factory']}`",
                )
            )
        flat = size["types"].get("Flat")
        if flat is not None and size["n"] <= 100_000:
            loop = size["baselines"].get("python_loop_ms")
            rows.append(
                row(
                    f"exact search {size['n']:,} x {size['dim']}, one query",
                    "<= 15 ms",
                    flat["query_ms"],
                    "ms",
                    ("numpy brute force", numpy_ms),
                    flat["query_ms"] <= 15,
                    lower_is_better=True,
                    note="" if loop is None else f"Python loop over vectors: {loop:.1f} ms",
                )
            )
    return rows


def large_rows(size: dict[str, Any]) -> list[Row]:
    """Sizes past the targets (10M): reported for the scaling curve, no target to meet."""
    return [
        row(
            f"search {size['n']:,} x {size['dim']}, one query ({name})",
            "— (scaling curve)",
            entry["query_ms"],
            "ms",
            ("numpy brute force", size["baselines"]["numpy_ms"]),
            None,
            lower_is_better=True,
            note=f"recall@10 {entry['recall_at_10']:.3f}, `{entry['factory']}`, built in "
            f"{entry['build_s']:.0f} s, {entry['bytes_per_vector']:.0f} bytes per vector",
        )
        for name, entry in size["types"].items()
    ]


def http_rows(report: dict[str, Any]) -> list[Row]:
    runtimes = report["runtimes"]
    ours_name = next(iter(runtimes))
    ours = runtimes[ours_name]["levels"]
    base = next((v["levels"] for k, v in runtimes.items() if k != ours_name), None)
    fastest = max(ours, key=lambda level: level["requests_per_s"])
    both = [lv for lv in ours if lv["p50_ms"] <= 20 and lv["requests_per_s"] >= 60]
    single = ours[0]
    base_single = base[0] if base else None
    base_best = max(base, key=lambda level: level["requests_per_s"]) if base else None
    return [
        row(
            f"HTTP search p50, {single['clients']} client",
            "<= 20 ms",
            single["p50_ms"],
            "ms",
            ("PyTorch encoder", base_single["p50_ms"]) if base_single else None,
            single["p50_ms"] <= 20,
            lower_is_better=True,
        ),
        row(
            f"HTTP search throughput, best of {len(ours)} client levels",
            ">= 60 req/s with p50 <= 20 ms",
            fastest["requests_per_s"],
            "req/s",
            ("PyTorch encoder", base_best["requests_per_s"]) if base_best else None,
            bool(both),
            note=f"{fastest['clients']} clients, p50 {fastest['p50_ms']:.0f} ms"
            + (
                f"; both met at {best['clients']} clients: {best['requests_per_s']:.0f} req/s, "
                f"p50 {best['p50_ms']:.1f} ms"
                if (best := max(both, key=lambda lv: lv["requests_per_s"], default=None))
                else ""
            ),
        ),
    ]


BUILDERS: dict[str, Callable[[Any], list[Row]]] = {
    "decode": decode_rows,
    "embed": embed_rows,
    "indexing": indexing_rows,
    "search": search_rows,
    "http": http_rows,
    "commands": command_rows,
}


def summarise(reports: Reports) -> list[Row]:
    """Rows for every step that produced a report."""
    rows: list[Row] = []
    for name, build in BUILDERS.items():
        if reports.get(name) is not None:
            rows.extend(build(reports[name]))
    return rows


def table(rows: list[Row]) -> str:
    lines = [
        "| measure | target | Lookalike | baseline (same run) | ratio | met | note |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        base = r["baseline"]
        base_text = "—" if base is None else f"{base['name']}: {_num(base['value'])} {r['unit']}"
        ratio = "—" if r["ratio"] is None else f"{r['ratio']:.1f}x"
        lines.append(
            f"| {r['measure']} | {r['target']} | {_num(r['value'])} {r['unit']} | {base_text} "
            f"| {ratio} | {MET[r['met']]} | {r['note']} |"
        )
    return "\n".join(lines)


def _num(value: float) -> str:
    return f"{value:.3f}" if value < 1 else f"{value:.1f}"
