"""Benchmark the ArchiMate importer: rate and peak memory beside lxml's bare parse of the same file.

    python -m bench.archimate                     # synthetic_large.xml and a 20,000-element synthetic file, median of 3
    python -m bench.archimate --repeat 5 --elements 50000
    python -m bench.archimate --file path/to/model.xml

Two files by default: pyArchimate's ``synthetic_large.xml`` (the largest shared model: 1,250 elements, 6,318
relationships, 195 views) and an exchange file generated here with ``--elements`` elements (default 20,000) of every
ArchiMate 3.1 element type, two relationships per element and properties on every element, in folders
(:func:`synthetic_exchange`; it validates against the 3.1 XSD). For each file three measures, each run in a fresh
child process so that its peak memory is its own: ``parse`` = lxml parsing the bytes alone (the baseline); ``read`` =
our hardened parse + offline XSD validation + reading into the neutral model; ``import`` = the whole ``run_import``
into a fresh, empty embedded SQLite store (read, XSD, mapping, validation, one-transaction load, run record). Items/s
counts the file's elements + relationships (every one is stored: mapped, preserved or kept on the model's record).
Peak memory is the child's maximum resident set size above what it held before the measure started. Prints figures;
asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = (
    ROOT / ".." / "shared" / "corpora" / "archimate" / "pyArchimate" / "tests" / "fixtures" / "synthetic_large.xml"
)
MEASURES = ("parse", "read", "import")
RELATIONSHIPS = ("Association", "Serving", "Flow", "Triggering", "Aggregation", "Composition", "Realization", "Access")


def synthetic_exchange(n_elements: int, seed: int = 17) -> bytes:
    """An ArchiMate 3.1 exchange document with ``n_elements`` elements (every element type in turn, names,
    documentation, two properties each, in ten folders) and two relationships per element."""
    from xml.sax.saxutils import escape

    from importers.archimate import ELEMENT_TYPES, NS3, XSI

    rnd = random.Random(seed)
    types = sorted(t for t in ELEMENT_TYPES if not t.endswith("Junction"))
    out = [
        f'<?xml version="1.0" encoding="UTF-8"?>\n<model xmlns="{NS3}" xmlns:xsi="{XSI}" identifier="id-synthetic">'
        f'<name xml:lang="en">Synthetic {n_elements:,}</name><elements>'
    ]
    for i in range(n_elements):
        t = types[i % len(types)]
        out.append(
            f'<element identifier="e{i}" xsi:type="{t}"><name xml:lang="en">{t} {i}</name>'
            f'<name xml:lang="vi">{escape("Phần tử")} {i}</name>'
            f"<documentation>Synthetic {t} number {i}.</documentation><properties>"
            f'<property propertyDefinitionRef="p-layer"><value>{t[:4]}</value></property>'
            f'<property propertyDefinitionRef="p-index"><value>{i}</value></property></properties></element>'
        )
    out.append("</elements><relationships>")
    for i in range(n_elements):
        for k in range(2):
            j = rnd.randrange(n_elements - 1)
            j = j + 1 if j >= i else j
            t = RELATIONSHIPS[(i + k) % len(RELATIONSHIPS)]
            access = ' accessType="Read"' if t == "Access" else ""
            out.append(f'<relationship identifier="r{i}-{k}" source="e{i}" target="e{j}" xsi:type="{t}"{access}/>')
    out.append("</relationships><organizations>")
    for f in range(10):
        out.append(f"<item><label>Folder {f}</label>")
        out.extend(f'<item identifierRef="e{i}"/>' for i in range(f, n_elements, 10))
        out.append("</item>")
    out.append(
        '</organizations><propertyDefinitions><propertyDefinition identifier="p-layer" type="string"><name>Layer'
        '</name></propertyDefinition><propertyDefinition identifier="p-index" type="number"><name>Index</name>'
        "</propertyDefinition></propertyDefinitions></model>"
    )
    return "".join(out).encode("utf-8")


def _rss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child(measure: str, path: Path) -> dict:
    """One measure in this (fresh) process: seconds, peak RSS above the start, what the file holds."""
    from lxml import etree

    from catalog.store import open_store
    from importers import archimate
    from importers.archimate import ExchangeImporter
    from importers.base import run_import

    archimate._schema("3.1", str((archimate.reference_dir() / archimate.XSD31).resolve()))  # once per process
    archimate.load_mapping()
    data = path.read_bytes()
    out: dict = {}
    with tempfile.TemporaryDirectory() as d:
        store = open_store(f"sqlite:///{Path(d) / 'bench.db'}") if measure == "import" else None
        before = _rss_kb()
        t0 = time.perf_counter()
        if measure == "parse":
            etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True))
        elif measure == "read":
            ExchangeImporter().read(path, 1_000_000_000)
        else:
            report = run_import(store, path, max_bytes=1_000_000_000)
            out.update(
                loaded=report.loaded,
                created=sum(report.result.created.values()),
                rejected=len(report.rejected),
                entities=store.count_entities(),
                relationships=store.count_relationships(),
            )
        out["seconds"] = time.perf_counter() - t0
        out["peak_mb"] = max(0, _rss_kb() - before) / 1024
    return out


def run_child(measure: str, path: Path) -> dict:
    r = subprocess.run(
        [sys.executable, "-m", "bench.archimate", "--child", measure, "--file", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    if r.returncode != 0:
        raise SystemExit(f"{measure} on {path.name} failed:\n{r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def bench_file(path: Path, repeat: int) -> None:
    from lxml import etree

    root = etree.parse(str(path)).getroot()
    ns = root.tag[1:].split("}", 1)[0]
    n_e = len(root.findall(f"{{{ns}}}elements/{{{ns}}}element"))
    n_r = len(root.findall(f"{{{ns}}}relationships/{{{ns}}}relationship"))
    items = n_e + n_r
    del root
    runs = {m: [run_child(m, path) for _ in range(repeat)] for m in MEASURES}
    med = {m: statistics.median(x["seconds"] for x in runs[m]) for m in MEASURES}
    mem = {m: statistics.median(x["peak_mb"] for x in runs[m]) for m in MEASURES}
    last = runs["import"][-1]
    print(
        f"\nfile: {path.name} ({path.stat().st_size:,} bytes; {n_e:,} elements + {n_r:,} relationships); import: "
        f"loaded={last['loaded']}, {last['entities']:,} entities and {last['relationships']:,} relationships stored, "
        f"{last['rejected']} rejected"
    )
    print(f"{'measure':<34}{'seconds':>10}{'items/s':>12}{'x parse':>10}{'peak MB':>10}{'x parse':>10}")
    for label, m in (
        ("lxml parse alone (baseline)", "parse"),
        ("hardened parse + XSD + read", "read"),
        ("run_import into empty SQLite", "import"),
    ):
        print(
            f"{label:<34}{med[m]:>10.3f}{items / med[m]:>12,.0f}{med[m] / med['parse']:>10.1f}"
            f"{mem[m]:>10.1f}{mem[m] / max(mem['parse'], 0.1):>10.1f}"
        )
    times = ", ".join(f"{x['seconds']:.2f}" for x in runs["import"])
    print(f"(median of {repeat}; import runs: {times} s)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--file", type=Path, help="one exchange-format model to measure instead of the two defaults")
    ap.add_argument("--elements", type=int, default=20_000, help="elements of the generated file")
    ap.add_argument("--repeat", type=int, default=3, help="runs per measure (median reported)")
    ap.add_argument("--child", choices=MEASURES, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.file.resolve())))
        return 0
    from bench.run import machine_info

    m = machine_info()
    print(f"machine: {m.get('cores')} cores, Python {m.get('python')}, SQLite {m.get('sqlite')}, {m.get('platform')}")
    print(f"load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.file:
        bench_file(args.file.resolve(), args.repeat)
        return 0
    bench_file(DEFAULT.resolve(), args.repeat)
    with tempfile.TemporaryDirectory() as d:
        generated = Path(d) / f"synthetic-{args.elements}.xml"
        generated.write_bytes(synthetic_exchange(args.elements))
        bench_file(generated, args.repeat)
    print(f"load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
