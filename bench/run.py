"""`make bench`: generate realistic contact files, import them into fresh homes, print and record figures.

Each case runs the import in a child process so its peak memory is its own, and
times the fastest available reader on the same file for the ratio the targets
are stated in.  Results go to bench/results.json.

Usage: python -m bench.run [--sizes 100000,1000000] [--formats csv,xlsx,excel,ods,xls] [--keep-changes 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
HEAD = ["External ID", "First name", "Last name", "Mobile", "Email", "City", "Birth date", "Company", "Tier", "Segment"]
CITIES = ["Tel Aviv", "Haifa", "Jerusalem", "Eilat", "Beer Sheva", "Netanya", "Ashdod", "Holon"]
NAMES = ["Dana", "Avi", "Noa", "Yossi", "Maya", "Eitan", "Tamar", "Omer", "Shira", "Lior", "דנה", "אבי", "José"]
LAST = ["Levi", "Cohen", "Mizrahi", "Peretz", "Biton", "Friedman", "Katz", "כהן", "Müller"]


def phone_cell(rng: random.Random, n: int, as_number: bool):
    """A mobile number in one of the shapes real exports hold; ~2% are broken."""
    local = (50, 52, 53, 54)[n % 4] * 10**7 + 2_000_000 + (n * 7919) % 7_999_999
    r = rng.random()
    if r < 0.02:
        return "12-" + str(n % 1000)
    if as_number and r < 0.35:
        return 972000000000 + local            # a number cell, country code, no plus
    if as_number and r < 0.5:
        return local                           # a number cell that lost its leading zero
    if r < 0.65:
        return f"0{local // 10**7}-{local % 10**7:07d}"
    if r < 0.8:
        return f"+972 {local // 10**7}-{(local // 10**4) % 1000:03d}-{local % 10**4:04d}"
    return f"0{local}"


def email_cell(rng: random.Random, n: int) -> str:
    r = rng.random()
    if r < 0.02:
        return f"broken{n}@"
    if r < 0.1:
        return ""
    return f"{'User' if r < 0.3 else 'user'}.{n}@{'Example.com' if r < 0.5 else 'mail.example.org'}"


def rows(size: int, as_number: bool, seed: int = 7):
    rng = random.Random(seed)
    for i in range(size):
        n = i if rng.random() > 0.03 else rng.randrange(max(i, 1))   # ~3% repeat an earlier contact
        yield [f"C{n:08d}", rng.choice(NAMES), rng.choice(LAST), phone_cell(rng, n, as_number), email_cell(rng, n),
               rng.choice(CITIES), f"{1 + n % 28:02d}/{1 + n % 12:02d}/{1950 + n % 50}",
               "Example Ltd" if n % 3 else "", ["gold", "silver", "bronze", ""][n % 4], "VIP" if n % 10 == 0 else ""]


#: The files' formats: csv; xlsx as openpyxl streams it (inline strings); excel as Excel saves a workbook
#: (shared strings, birth dates as date cells), written with XlsxWriter.
#: ods as LibreOffice saves one; xls as Excel 97-2003 saves one, which holds at most 65,536 rows a sheet.
SUFFIX = {"csv": "csv", "xlsx": "xlsx", "excel": "shared.xlsx", "ods": "ods", "xls": "xls"}
XLS_MAX_ROWS = 65_535


def generate(size: int, fmt: str) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"contacts_{size}.{SUFFIX[fmt]}"
    if path.exists():
        return path
    tmp = path.with_suffix(".tmp")
    t = time.perf_counter()
    if fmt == "csv":
        import csv

        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(HEAD)
            w.writerows(rows(size, as_number=False))
    elif fmt == "ods":
        write_ods(tmp, rows(size, as_number=True))
    elif fmt == "xls":
        import xlwt

        book = xlwt.Workbook(encoding="utf-8")
        sheet = book.add_sheet("Contacts")
        for j, h in enumerate(HEAD):
            sheet.write(0, j, h)
        for i, r in enumerate(rows(min(size, XLS_MAX_ROWS), as_number=True), start=1):
            for j, v in enumerate(r):
                if v != "":
                    sheet.write(i, j, v)
        book.save(str(tmp))
    elif fmt == "excel":
        import datetime

        import xlsxwriter

        book = xlsxwriter.Workbook(str(tmp))
        sheet = book.add_worksheet("Contacts")
        dates = book.add_format({"num_format": "dd/mm/yyyy"})
        sheet.write_row(0, 0, HEAD)
        for i, r in enumerate(rows(size, as_number=True), start=1):
            day, month, year = map(int, r[6].split("/"))
            r[6] = None
            sheet.write_row(i, 0, [v if v != "" else None for v in r])
            sheet.write_datetime(i, 6, datetime.datetime(year, month, day), dates)
        book.close()
    else:
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet("Contacts")
        ws.append(HEAD)
        for r in rows(size, as_number=True):
            ws.append(r)
        wb.save(tmp)
    os.replace(tmp, path)
    print(f"  generated {path.name} in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    return path


_ODS_NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
           'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
           'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"')


def write_ods(path: Path, data) -> None:
    """An ods streamed straight into its package: odfpy builds a whole document tree, too slow for a million rows."""
    import zipfile
    from xml.sax.saxutils import escape

    def cell(v) -> str:
        if v == "" or v is None:
            return "<table:table-cell/>"
        if isinstance(v, (int, float)):
            return (f'<table:table-cell office:value-type="float" office:value="{v}"><text:p>{v}</text:p>'
                    "</table:table-cell>")
        return f'<table:table-cell office:value-type="string"><text:p>{escape(str(v))}</text:p></table:table-cell>'

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        package.writestr("META-INF/manifest.xml", '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
                         'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
                         '<manifest:file-entry manifest:full-path="/" manifest:media-type='
                         '"application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry '
                         'manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>')
        with package.open("content.xml", "w", force_zip64=True) as content:
            content.write(f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {_ODS_NS} '
                          'office:version="1.2"><office:body><office:spreadsheet>'
                          '<table:table table:name="Contacts">'.encode())
            block = ["<table:table-row>" + "".join(map(cell, HEAD)) + "</table:table-row>"]
            for r in data:
                block.append("<table:table-row>" + "".join(map(cell, r)) + "</table:table-row>")
                if len(block) >= 5000:
                    content.write("".join(block).encode())
                    block = []
            block.append("</table:table></office:spreadsheet></office:body></office:document-content>")
            content.write("".join(block).encode())


#: The speed targets the figures are printed against.
TARGET_RATIO = 2.0
TARGET_CSV_S = 5.0
TARGET_RSS_MB = 1200

FIELDS_YAML = """custom_fields:
  - {name: loyalty_tier, type: choice, choices: [gold, silver, bronze], aliases: [Tier]}
"""

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from pipeline.config import load_config
from pipeline.process import process_file
def cpu():
    return sum(u.ru_utime + u.ru_stime for u in map(resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)))
cfg = load_config(sys.argv[1])
t, c = time.perf_counter(), cpu()
s = process_file(Path(sys.argv[2]), cfg, force=True)
wall = time.perf_counter() - t
print(json.dumps({"wall": wall, "cpu_s": round(cpu() - c, 3), "rows": s.rows, "timings": s.timings,
                  "status": s.status, "reason": s.reason,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "peak_rss_writer_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""

#: The fastest readers there are, each timed alone on the file: the import is held to the fastest.
RAW_READERS = {
    "csv": {"pyarrow.csv": r"""
import pyarrow.csv as pc
n = pc.read_csv(p, convert_options=pc.ConvertOptions(column_types={}, strings_can_be_null=False)).num_rows
"""},
    "xlsx": {"python-calamine": r"""
from python_calamine import CalamineWorkbook
n = sum(1 for _ in CalamineWorkbook.from_path(str(p)).get_sheet_by_index(0).iter_rows())
""", "fastexcel": r"""
import fastexcel
n = fastexcel.read_excel(str(p)).load_sheet(0, header_row=None, eager=True).num_rows
"""},
}
RAW_READ = r"""
import sys, time
from pathlib import Path
p = Path(sys.argv[1])
t = time.perf_counter()
exec(sys.argv[2])
print(time.perf_counter() - t)
"""


def raw_reads(path: Path, fmt: str) -> dict[str, float]:
    """Seconds each available reader takes just to read the file (a reader not installed is left out)."""
    times = {}
    for name, code in RAW_READERS[fmt].items():
        done = subprocess.run([sys.executable, "-c", RAW_READ, str(path), code], capture_output=True, text=True)
        if done.returncode == 0:
            times[name] = round(float(done.stdout), 3)
        elif "ModuleNotFoundError" not in done.stderr:
            raise RuntimeError(f"{name} failed on {path.name}: {done.stderr.strip().splitlines()[-1]}")
    return times


def measure(size: int, fmt: str) -> dict:
    import shutil
    import tempfile

    path = generate(size, fmt)
    readers = raw_reads(path, "csv" if fmt == "csv" else "xlsx")
    # A workbook's import is held to fastexcel's own read of it (the library the reader is built on).
    fastest = "fastexcel" if fmt != "csv" else min(readers, key=readers.get)
    raw = readers[fastest]
    home = Path(tempfile.mkdtemp(prefix="contacts-bench-"))
    try:
        (home / "config").mkdir()
        (home / "config" / "fields.yaml").write_text(FIELDS_YAML)
        out = subprocess.run([sys.executable, "-c", CHILD, str(home), str(path)], check=True, capture_output=True,
                             text=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(home, ignore_errors=True)
    total = result["rows"]["total"]
    result.update({"file": path.name, "size": size, "format": fmt, "raw_read_s": round(raw, 3),
                   "raw_reader": fastest, "raw_reads_s": readers,
                   "ratio_to_raw_read": round(result["wall"] / raw, 2),
                   "rows_per_s": round(total / result["wall"]),
                   "cores_busy": round(result["cpu_s"] / result["wall"], 2)})
    result["wall"] = round(result["wall"], 3)
    return result


SCALE = r"""
import json, sys, time
from pathlib import Path
from pipeline.config import load_config
from pipeline.process import process_file
cfg = load_config(sys.argv[1])
out = []
for path in sys.argv[2:]:
    t = time.perf_counter()
    s = process_file(Path(path), cfg, force=True)
    out.append({"wall": round(time.perf_counter() - t, 3), "rows": s.rows, "timings": s.timings})
print(json.dumps(out))
"""


def measure_reimport(size: int) -> dict:
    """The same file imported twice into one home (forced): the second import finds every row unchanged."""
    import shutil
    import tempfile

    path = generate(size, "csv")
    home = Path(tempfile.mkdtemp(prefix="contacts-bench-"))
    try:
        (home / "config").mkdir()
        (home / "config" / "fields.yaml").write_text(FIELDS_YAML)
        out = subprocess.run([sys.executable, "-c", SCALE, str(home), str(path), str(path)], check=True,
                             capture_output=True, text=True)
        first, second = json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return {"case": f"re-import {path.name}", "first": first, "second": second,
            "ratio_second_to_first": round(second["wall"] / first["wall"], 2)}


def measure_store_scale(store_size: int, file_rows: int) -> dict:
    """A small file into a store that already holds many contacts: cost must follow the file, not the store."""
    import shutil
    import tempfile

    from bench.store_queries import build

    home = Path(tempfile.mkdtemp(prefix="contacts-bench-"))
    try:
        t = time.perf_counter()
        build(home, store_size)
        built = time.perf_counter() - t
        path = home / f"contacts_{file_rows}.csv"
        import csv

        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(HEAD)
            w.writerows(rows(file_rows, as_number=False, seed=11))
        out = subprocess.run([sys.executable, "-c", SCALE, str(home), str(path)], check=True, capture_output=True,
                             text=True)
        (result,) = json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return {"case": f"{file_rows:,} rows into a store of {store_size:,}", "store_built_s": round(built, 1), **result}


def measure_keep_changes(size: int, rounds: int) -> dict:
    """The csv import into a fresh home with and without `keep_changes` (what `runs undo` needs), alternating
    which goes first each round so a busy shared machine weighs on both alike; the ratio of the medians."""
    import shutil
    import statistics
    import tempfile

    path = generate(size, "csv")
    walls: dict[bool, list[float]] = {True: [], False: []}
    upserts: dict[bool, list[float]] = {True: [], False: []}
    for i in range(rounds):
        for keep in ((True, False) if i % 2 == 0 else (False, True)):
            home = Path(tempfile.mkdtemp(prefix="contacts-bench-"))
            try:
                (home / "config").mkdir()
                (home / "config" / "fields.yaml").write_text(FIELDS_YAML)
                (home / "config" / "pipeline.yaml").write_text(f"keep_changes: {str(keep).lower()}\n")
                out = subprocess.run([sys.executable, "-c", CHILD, str(home), str(path)], check=True,
                                     capture_output=True, text=True)
                result = json.loads(out.stdout.strip().splitlines()[-1])
                walls[keep].append(result["wall"])
                upserts[keep].append(result["timings"]["upsert"])
            finally:
                shutil.rmtree(home, ignore_errors=True)
    kept, not_kept = statistics.median(walls[True]), statistics.median(walls[False])
    return {"case": f"keep_changes on {path.name}", "kept_s": [round(w, 3) for w in walls[True]],
            "not_kept_s": [round(w, 3) for w in walls[False]], "ratio_kept_to_not": round(kept / not_kept, 3),
            "upsert_kept_s": upserts[True], "upsert_not_kept_s": upserts[False]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--formats", default="csv,xlsx,excel,ods,xls")
    ap.add_argument("--reimport", type=int, default=1_000_000, help="rows of the re-import case (0: skip)")
    ap.add_argument("--store", type=int, default=10_000_000, help="contacts of the store-scale case (0: skip)")
    ap.add_argument("--keep-changes", type=int, default=1_000_000,
                    help="rows of the csv imported with and without keep_changes, alternating (0: skip)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of the keep_changes comparison")
    args = ap.parse_args()
    results = []
    done = set()
    for size in (int(s) for s in args.sizes.split(",") if s):
        for fmt in args.formats.split(","):
            rows_in_file = min(size, XLS_MAX_ROWS) if fmt == "xls" else size
            if (rows_in_file, fmt) in done:
                continue
            done.add((rows_in_file, fmt))
            r = measure(rows_in_file, fmt)
            results.append(r)
            stages = "  ".join(f"{k} {v:.2f}s ({v / r['wall']:.0%})" for k, v in r["timings"].items())
            target = TARGET_RATIO if fmt != "csv" else None
            against = f"target x{target}" if target else f"target {TARGET_CSV_S:.0f} s"
            print(f"{r['file']:>24}: {r['wall']:.2f} s end to end, {r['rows_per_s']:,} rows/s, "
                  f"raw read {r['raw_read_s']:.2f} s by {r['raw_reader']} (x{r['ratio_to_raw_read']}, {against}), "
                  f"peak {r['peak_rss_mb']:.0f} MB (target {TARGET_RSS_MB} MB), cores busy {r['cores_busy']}")
            print(f"{'':>24}  {stages}")
            print(f"{'':>24}  rows {r['rows']}")
    extra = []
    if args.reimport:
        r = measure_reimport(args.reimport)
        extra.append(r)
        print(f"{r['case']}: first {r['first']['wall']:.2f} s, second {r['second']['wall']:.2f} s "
              f"(x{r['ratio_second_to_first']}), second rows {r['second']['rows']}")
    if args.store:
        r = measure_store_scale(args.store, 10_000)
        extra.append(r)
        print(f"{r['case']}: {r['wall']:.2f} s ({r['timings']}), rows {r['rows']}")
    if args.keep_changes:
        r = measure_keep_changes(args.keep_changes, args.rounds)
        extra.append(r)
        print(f"{r['case']}: kept {r['kept_s']} s, not kept {r['not_kept_s']} s, "
              f"ratio of medians x{r['ratio_kept_to_not']} (target at most x1.15); upsert stage kept "
              f"{r['upsert_kept_s']} s, not kept {r['upsert_not_kept_s']} s")
    (HERE / "results.json").write_text(json.dumps({"imports": results, "other": extra}, indent=2) + "\n")


if __name__ == "__main__":
    main()
