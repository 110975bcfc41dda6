#!/usr/bin/python3
"""Turns results.csv into the stdout table, report.md and plot.png.

Usage: report.py RESULTS_DIR   (reads results.csv and machine.txt there)
"""
import csv
import os
import subprocess
import sys

HEAD = ["item", "what", "ours", "ours_value", "baseline", "baseline_value", "unit", "ratio", "bar", "note"]


def check(bar, ratio, ours):
    """'pass', 'MISSED' or '' (nothing to check) for bars like 'ratio>=1.5; ours<=0.1'."""
    verdicts = []
    for part in filter(None, (b.strip() for b in bar.split(";"))):
        if "(aim)" in part:
            part = part.replace("(aim)", "").strip()
        for op in (">=", "<="):
            if op in part:
                name, limit = part.split(op)
                value = {"ratio": ratio, "ours": ours}.get(name.strip(), "")
                if value == "":
                    continue
                ok = float(value) >= float(limit) if op == ">=" else float(value) <= float(limit)
                verdicts.append(ok)
    if not verdicts:
        return ""
    return "pass" if all(verdicts) else "MISSED"


def fmt(v, unit):
    if v == "":
        return "-"
    x = float(v)
    if unit == "s":
        return "%.3f s" % x
    if unit == "tps":
        return "%.0f tps" % x
    return "%s %s" % (v, unit)


def main():
    res = sys.argv[1]
    rows = []
    with open(os.path.join(res, "results.csv")) as f:
        for r in csv.reader(f):
            rows.append(dict(zip(HEAD, r)))
    for r in rows:
        skipped = r["note"].startswith("skipped")
        if r["note"].startswith("FAILED"):
            r["verdict"] = "FAILED"
        else:
            r["verdict"] = "skipped" if skipped and r["ours_value"] == "" else check(r["bar"], r["ratio"], r["ours_value"])

    table = [["#", "measure", "ours", "baseline", "ratio", "bar", "verdict", "note"]]
    for r in rows:
        table.append([r["item"], r["what"],
                      (r["ours"] + ": " if r["ours"] else "") + fmt(r["ours_value"], r["unit"]),
                      (r["baseline"] + ": " if r["baseline"] else "") + fmt(r["baseline_value"], r["unit"]),
                      ("%.2fx" % float(r["ratio"])) if r["ratio"] else "-",
                      r["bar"] or "-", r["verdict"] or "-", r["note"]])

    widths = [max(len(t[i]) for t in table) for i in range(len(table[0]) - 1)]
    for t in table:
        print("  ".join(c.ljust(w) for c, w in zip(t, widths)) + "  " + t[-1])

    plot = write_plot(res, rows)
    machine = open(os.path.join(res, "machine.txt")).read()
    with open(os.path.join(res, "report.md"), "w") as f:
        f.write("# pgml_replication benchmarks\n\n")
        f.write("Ratios are \"times better than the baseline\" (>1: ours is faster), "
                "both sides measured alternately in the same run; each figure is a median.\n\n")
        f.write("| " + " | ".join(table[0]) + " |\n|" + "---|" * len(table[0]) + "\n")
        for t in table[1:]:
            f.write("| " + " | ".join(c.replace("|", "\\|") for c in t) + " |\n")
        missed = [r for r in rows if r["verdict"] == "MISSED"]
        f.write("\n")
        failed = [r for r in rows if r["verdict"] == "FAILED"]
        if failed:
            f.write("**Failed (a side broke, no figure):** " + "; ".join("item %s (%s): %s" % (r["item"], r["what"], r["note"][len("FAILED: "):])
                                                                     for r in failed) + ".\n\n")
        if missed:
            f.write("**Bars missed:** " + "; ".join("item %s (%s vs %s)" % (r["item"], r["what"], r["baseline"] or r["ours"])
                                                    for r in missed) + ".\n\n")
        skipped = [r for r in rows if r["verdict"] == "skipped" or r["note"].startswith("skipped")]
        reasons = []
        for r in skipped:
            reason = "item %s: %s" % (r["item"], r["note"][len("skipped: "):].split(" (")[0])
            if reason not in reasons:
                reasons.append(reason)
        if reasons:
            f.write("**Not measured:** " + "; ".join(reasons) + ".\n\n")
        if plot:
            f.write("![ratios against the bars](plot.png)\n\n")
        f.write("## Machine and versions\n\n```\n" + machine + "```\n")


def write_plot(res, rows):
    data = []
    for r in rows:
        if not r["ratio"]:
            continue
        bar = ""
        for part in r["bar"].split(";"):
            if part.strip().startswith("ratio>="):
                bar = part.split(">=")[1].replace("(aim)", "").strip()
        label = "%s. %s vs %s" % (r["item"], r["what"], r["baseline"])
        if r["ours"].startswith("hf_fetch_cli"):  # the reference row beside the worker's
            label += " [core alone]"
        data.append((label.replace('"', "'"), r["ratio"], bar or "NaN"))
    if not data:
        return False
    dat = os.path.join(res, "plot.dat")
    with open(dat, "w") as f:
        for label, ratio, bar in data:
            f.write('"%s" %s %s\n' % (label, ratio, bar))
    script = """
set terminal pngcairo size 1000,%d font ",10"
set output "%s"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set ylabel "ratio (higher is better for ours)"
set xtics rotate by -30 left noenhanced
set key top right
set grid ytics
set yrange [0:*]
set bmargin 12
plot "%s" using 2:xtic(1) title "measured" lc rgb "#3366cc"%s
""" % (560, os.path.join(res, "plot.png"), dat,
       # gnuplot fails on a series with no defined point: rows without bars only
       ", '' using 3 title \"bar\" lc rgb \"#dd8833\"" if any(b != "NaN" for _l, _r, b in data) else "")
    try:
        subprocess.run(["gnuplot"], input=script.encode(), check=True, stderr=subprocess.PIPE)
    except (OSError, subprocess.CalledProcessError) as e:
        print("report: gnuplot failed: %s" % e, file=sys.stderr)
        return False
    return True


if __name__ == "__main__":
    main()
