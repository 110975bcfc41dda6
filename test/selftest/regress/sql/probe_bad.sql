-- Counting probe: the expected output below is wrong on purpose.
SELECT 2 AS two;
