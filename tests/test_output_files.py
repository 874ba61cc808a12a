"""Output files are written via a temporary file renamed over the target: never through a symlink."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from optimizer.errors import InputError
from optimizer.frontier import write_frontier
from optimizer.reports import OUTPUT_MARKER


def test_a_symlink_at_the_target_is_replaced_not_followed(tmp_path: Path):
    from optimizer.io.files import write_text

    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    target = tmp_path / "out.txt"
    target.symlink_to(victim)
    write_text(target, "new\n")
    assert victim.read_text() == "keep me\n"
    assert not target.is_symlink() and target.read_text() == "new\n"


def test_a_failed_write_leaves_the_target_and_no_temporary_file(tmp_path: Path):
    from optimizer.io.files import replace_file

    target = tmp_path / "out.csv"
    target.write_text("old\n")
    with pytest.raises(RuntimeError):
        with replace_file(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("writer failed")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_a_missing_folder_is_a_clear_error(tmp_path: Path):
    from optimizer.io.files import write_text

    with pytest.raises(InputError) as err:
        write_text(tmp_path / "nowhere" / "out.txt", "x")
    assert str(tmp_path / "nowhere" / "out.txt") in str(err.value) and "cannot be written" in str(err.value)


def test_frontier_outputs_never_write_through_a_symlink(tmp_path: Path):
    out = tmp_path / "out"
    out.mkdir()
    (out / OUTPUT_MARKER).write_text("")
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    for name in ("frontier.csv", "frontier.png"):
        (out / name).symlink_to(victim)
    table = pd.DataFrame({"p": [1, 2], "status": ["optimal", "optimal"], "fixed": [4.0, 6.0],
                          "shipping": [6.0, 2.0], "total": [10.0, 8.0]})
    table.attrs["axis"] = "p"
    write_frontier(table, out)
    assert victim.read_text() == "keep me\n"
    assert (out / "frontier.csv").read_text().startswith("p,status,fixed") and not (out / "frontier.csv").is_symlink()
    assert (out / "frontier.png").read_bytes()[:4] == b"\x89PNG"
