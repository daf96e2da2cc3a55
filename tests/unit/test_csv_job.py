"""The tutorial's CSV job (roles/docker_apps/templates/build/csv_job/main.py): Q1/Q2/Q3 without pandas or docker."""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path

MAIN = Path(__file__).resolve().parents[2] / "roles" / "docker_apps" / "templates" / "build" / "csv_job" / "main.py"


def load():
    spec = importlib.util.spec_from_file_location("csv_job_main", MAIN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_answers_match_the_tutorial():
    numbers = [random.randint(1, 99) for _ in range(200)]  # noqa: S311 (test data)
    result = load().answers(numbers)
    assert result["Q1"] == "Hello world"
    assert result["Q2"] == sum(numbers)
    assert result["Q3"] == sorted(numbers, reverse=True)[:10]
    assert all(type(n) is int for n in result["Q3"])


def test_ten_largest_descending_with_ties():
    result = load().answers([5, 1, 9, 9, 3, 7, 2, 8, 6, 4, 10, 0])
    assert result["Q3"] == [10, 9, 9, 8, 7, 6, 5, 4, 3, 2]
    assert result["Q2"] == 64
