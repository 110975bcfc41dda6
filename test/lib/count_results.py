#!/usr/bin/python3
"""Counts passed, failed and skipped tests from a test runner's own output.

    count_results.py KIND OUTPUT_FILE [--rc N] [--files NAME...]

KIND is one of
  tap       prove / pg_prove run with --verbose (their stdout only): one count
            per top-level assertion ("ok" / "not ok" line). "ok ... # SKIP" is
            skipped, "not ok ... # TODO" is skipped (a known failure is not a
            pass), a file that skips as a whole ("1..0 # SKIP") is one skipped.
            A file that fails without a failing assertion line (died, bad or
            missing plan, non-zero exit) adds the assertions prove reports as
            missing ("Failed X/Y subtests"), at least one. A file of --files
            that never ran (e.g. after "Bail out!") is one failed.
  ctest     ctest: one count per test (a GoogleTest case); GTEST_SKIP is skipped.
  regress   pg_regress (PostgreSQL 15 output): one count per test file;
            an ignored failure is skipped.
  unittest  python -m unittest -v: one count per test method.

Prints one line per file or failing test for people, then the last line
"COUNTS <passed> <failed> <skipped>". The runner's own totals are checked
against the lines counted; a difference, an exit code that says "failed"
with no failure counted, or an output with nothing in it counts as a failure,
so a runner the parser does not understand can never pass unnoticed.
Python 3 standard library only.
"""
import argparse
import re
import sys


class Counts:
    def __init__(self):
        self.passed = self.failed = self.skipped = 0
        self.lines = []

    def add(self, passed=0, failed=0, skipped=0):
        self.passed += passed
        self.failed += failed
        self.skipped += skipped

    def note(self, text):
        self.lines.append(text)

    def problem(self, text):
        """A failure that no test line shows: counted once, and said why."""
        self.failed += 1
        self.lines.append("not ok (counted as 1 failed) " + text)

    def one(self, outcome, label):
        """One test's result line: "pass", "skip" or "fail"; skips and
        failures are listed by label."""
        if outcome == "pass":
            self.passed += 1
        elif outcome == "skip":
            self.skipped += 1
            self.lines.append("skip   " + label)
        else:
            self.failed += 1
            self.lines.append("not ok " + label)

    def check_total(self, runner, reported, counted, none_ran):
        """The runner's own total against the lines counted; nothing counted
        at all is a failure too (the runner did not start or was not understood)."""
        if reported is not None and reported != counted:
            self.problem("%s reports %d tests but %d result lines were counted" % (runner, reported, counted))
        if counted == 0:
            self.problem(none_ran)


# ---- TAP (prove, pg_prove) --------------------------------------------------
TAP_TEST = re.compile(r"^(not )?ok\b(.*)$")
TAP_DIRECTIVE = re.compile(r"(?<!\\)#\s*(skip|todo)", re.I)
TAP_PLAN = re.compile(r"^1\.\.(\d+)(.*)$")
FAILED_SUBTESTS = re.compile(r"^Failed (\d+)/(\d+) subtests")
BAD_VERDICT = re.compile(r"^(Dubious, test returned|No subtests run|Failed \d+/\d+ subtests)")
PROVE_TOTALS = re.compile(r"^Files=(\d+), Tests=(\d+)")
TAP_END = re.compile(r"^(Test Summary Report|All tests successful\.|Files=\d+, Tests=\d+)")


class TapFile:
    def __init__(self, name):
        self.name = name
        self.passed = self.failed_lines = self.skipped = 0
        self.missing = 0          # prove's "Failed X/Y subtests" X
        self.bad = False          # a verdict line said the file failed
        self.ok_verdict = False
        self.skip_all = None

    def tests(self):
        return self.passed + self.failed_lines + self.skipped

    def line(self, text):
        if text.strip() == "ok":  # prove's verdict, not a test line (TAP test lines carry a number)
            self.ok_verdict = True
            return
        m = TAP_TEST.match(text)
        if m:
            directive = TAP_DIRECTIVE.search(m.group(2))
            kind = directive.group(1).lower() if directive else None
            if m.group(1):  # not ok
                if kind == "todo":
                    self.skipped += 1
                else:
                    self.failed_lines += 1
            elif kind == "skip":
                self.skipped += 1
            else:
                self.passed += 1
            return
        m = TAP_PLAN.match(text)
        if m:
            if m.group(1) == "0":
                self.skip_all = m.group(2).strip().lstrip("#").strip() or "no reason given"
            return
        self.verdict(text)

    def verdict(self, text):
        text = text.strip()
        if text == "ok":
            self.ok_verdict = True
        elif text.startswith("skipped:"):
            self.skip_all = self.skip_all or text[len("skipped:"):].strip()
            self.ok_verdict = True
        elif BAD_VERDICT.match(text):
            self.bad = True
            m = FAILED_SUBTESTS.match(text)
            if m:
                self.missing = max(self.missing, int(m.group(1)))

    def result(self):
        """(passed, failed, skipped, note)"""
        if self.skip_all is not None and self.tests() == 0 and not self.bad:
            return 0, 0, 1, "skipped as a whole: " + self.skip_all
        failed = self.failed_lines
        note = ""
        if self.bad or not self.ok_verdict:
            failed = max(failed, self.missing, 1)
            if failed > self.failed_lines:
                note = "%d failed without a failing assertion line (died, plan or exit status)" % (
                    failed - self.failed_lines)
        return self.passed, failed, self.skipped, note


def count_tap(text, rc, files):
    c = Counts()
    headers = [(n, re.compile(r"^%s \.+ ?(.*)$" % re.escape(n))) for n in files]
    generic = re.compile(r"^(\S.*?) \.{2,} ?(.*)$")
    seen, order, cur, totals = {}, [], None, None
    in_block_area = True
    for raw in text.splitlines():
        line = raw.rstrip("\n")
        m = PROVE_TOTALS.match(line)
        if m:
            totals = (int(m.group(1)), int(m.group(2)))
        if TAP_END.match(line):
            in_block_area = False
            cur = None
            continue
        if not in_block_area:
            continue
        header = None
        for name, rx in headers:
            m = rx.match(line)
            if m:
                header = (name, m.group(1))
                break
        if header is None and not files and not TAP_TEST.match(line) and not line.startswith(("#", " ", "\t")):
            m = generic.match(line)
            if m:
                header = (m.group(1), m.group(2))
        if header:
            cur = seen.setdefault(header[0], TapFile(header[0]))
            if header[0] not in order:
                order.append(header[0])
            if header[1]:
                cur.verdict(header[1])
            continue
        if cur is not None and not line.startswith((" ", "\t")):  # indented: a subtest's own lines
            cur.line(line)

    counted_tests = 0
    for name in order:
        f = seen[name]
        counted_tests += f.tests()
        p, fl, s, note = f.result()
        c.add(p, fl, s)
        c.note("%s %s: %d passed, %d failed, %d skipped%s" % (
            "not ok" if fl else "ok    ", name, p, fl, s, ("  (" + note + ")") if note else ""))
    for name in files:
        if name not in seen:
            c.problem("%s: never ran (no output from it; a bail-out or a runner that stopped early)" % name)
    if totals is not None and totals[1] != counted_tests:
        c.problem("the runner reports Tests=%d but %d assertion lines were counted" % (totals[1], counted_tests))
    if not order and not files:
        c.problem("no test file in the output")
    return c


def count_matches(text, pattern, classify):
    """One result per line that matches pattern: classify(match) gives
    ("pass" | "skip" | "fail", label). Returns (Counts, lines matched)."""
    c, n = Counts(), 0
    for line in text.splitlines():
        m = pattern.match(line)
        if m:
            n += 1
            c.one(*classify(m))
    return c, n


# ---- ctest -----------------------------------------------------------------
CTEST_LINE = re.compile(r"^\s*\d+/\d+\s+Test\s+#\d+:\s+(\S+)\s+\.*\s*(?:\*+)?(Passed|Skipped|Not Run|Failed|Timeout|Exception|[A-Za-z][\w ]*?)\b(.*?)\s+[\d.]+\s+sec\s*$")
CTEST_TOTAL = re.compile(r"(\d+) tests? failed out of (\d+)")


def ctest_result(m):
    status = m.group(2)
    if status in ("Passed", "Skipped"):
        return ("pass" if status == "Passed" else "skip"), m.group(1)
    return "fail", "%s (%s%s)" % (m.group(1), status, m.group(3))


def count_ctest(text, rc):
    c, n = count_matches(text, CTEST_LINE, ctest_result)
    m = CTEST_TOTAL.search(text)
    c.check_total("ctest", int(m.group(2)) if m else None, n, "no test ran (ctest found none, or did not start)")
    return c


# ---- pg_regress (PostgreSQL 15) ---------------------------------------------
REGRESS_LINE = re.compile(r"^(?:test\s+|\s+)(\S+)\s+\.\.\.\s+(ok|FAILED|failed \(ignored\))")
REGRESS_ALL = re.compile(r"All (\d+) tests passed")
REGRESS_SOME = re.compile(r"(\d+) of (\d+) tests (failed|passed)")


def regress_result(m):
    if m.group(2) in ("ok", "FAILED"):
        return ("pass" if m.group(2) == "ok" else "fail"), m.group(1)
    return "skip", "%s (failed, ignored by the schedule)" % m.group(1)


def count_regress(text, rc):
    c, n = count_matches(text, REGRESS_LINE, regress_result)
    total = None
    m = REGRESS_ALL.search(text)
    if m:
        total = int(m.group(1))
    m = REGRESS_SOME.search(text)
    if m:
        total = int(m.group(2))
    c.check_total("pg_regress", total, n, "no test ran (pg_regress did not start, or could not reach the server)")
    return c


# ---- python -m unittest -v ----------------------------------------------------
UNITTEST_LINE = re.compile(r"^.*\.\.\. (ok|FAIL|ERROR|skipped\b.*|expected failure|unexpected success)$")
UNITTEST_RAN = re.compile(r"^Ran (\d+) tests? in")
UNITTEST_FAILED = re.compile(r"^FAILED \((.*)\)")


def unittest_result(m):
    r = m.group(1)
    skipped = r.startswith("skipped") or r == "expected failure"
    return ("pass" if r == "ok" else "skip" if skipped else "fail"), m.group(0)


def count_unittest(text, rc):
    c, n = count_matches(text, UNITTEST_LINE, unittest_result)
    ran = None
    summary_failed = 0
    for line in text.splitlines():
        m = UNITTEST_RAN.match(line)
        if m:
            ran = int(m.group(1))
        m = UNITTEST_FAILED.match(line)
        if m:
            for part in m.group(1).split(","):
                k, _, v = part.strip().partition("=")
                if k in ("failures", "errors", "unexpected successes"):
                    summary_failed += int(v)
    for _ in range(summary_failed - c.failed):
        c.problem("a failure or error without a result line (e.g. setUpClass)")
    c.check_total("unittest", ran, n, "no test ran (unittest did not start)")
    return c


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("kind", choices=("tap", "ctest", "regress", "unittest"))
    ap.add_argument("output")
    ap.add_argument("--rc", type=int, default=0, help="the runner's exit code")
    ap.add_argument("--files", nargs="*", default=[], help="tap: the files given to the runner, as it prints them")
    args = ap.parse_args(argv)
    with open(args.output, encoding="utf-8", errors="replace") as f:
        text = f.read()
    if args.kind == "tap":
        c = count_tap(text, args.rc, args.files)
    elif args.kind == "ctest":
        c = count_ctest(text, args.rc)
    elif args.kind == "regress":
        c = count_regress(text, args.rc)
    else:
        c = count_unittest(text, args.rc)
    if args.rc != 0 and c.failed == 0:
        c.problem("the runner exited with %d but no failure was counted" % args.rc)
    for line in c.lines:
        print(line)
    print("COUNTS %d %d %d" % (c.passed, c.failed, c.skipped))
    return 0


if __name__ == "__main__":
    sys.exit(main())
