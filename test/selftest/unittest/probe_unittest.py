"""Counting probe: 2 passing, 1 failing, 1 erroring, 1 skipped test and 1
expected failure (counted as skipped)."""
import unittest


class Probe(unittest.TestCase):
    def test_pass_1(self):
        self.assertTrue(True)

    def test_pass_2(self):
        self.assertEqual(1, 1)

    def test_fail(self):
        self.assertEqual(1, 2)

    def test_error(self):
        raise RuntimeError("the probe raises")

    @unittest.skip("the probe skips")
    def test_skip(self):
        pass

    @unittest.expectedFailure
    def test_expected_failure(self):
        self.assertEqual(1, 2)


if __name__ == "__main__":
    unittest.main()
