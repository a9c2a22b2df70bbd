"""grader.files: output and save paths replace only regular files, atomically, with the umask."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from grader.cli import main
from grader.errors import OutputError, RubricError
from grader.files import atomic_write, check_target
from grader.rubric import load_rubric, rubric_from_dict, save_rubric

from conftest import SEED_DIR

POLITICS = str(SEED_DIR / "destal-politics.yaml")


def _cli_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code = main(list(argv))
    _, err = capsys.readouterr()
    assert code == 2 and "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture
def answers(tmp_path: Path) -> Path:
    src = tmp_path / "in.csv"
    src.write_text("question_id,answer\ndestal-politics,Khrushchev denounced Stalin\n", encoding="utf-8")
    return src


def test_batch_refuses_a_device(capsys, answers: Path) -> None:
    before = os.stat("/dev/null")
    line = _cli_error(capsys, "batch", POLITICS, str(answers), "-o", "/dev/null", "--quiet")
    assert "/dev/null: is a device" in line
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode) and os.stat("/dev/null").st_ino == before.st_ino


def test_batch_refuses_a_fifo_without_hanging(capsys, tmp_path: Path, answers: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert "is a FIFO" in _cli_error(capsys, "batch", POLITICS, str(answers), "-o", str(fifo), "--quiet")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_batch_refuses_a_symlink(capsys, tmp_path: Path, answers: Path) -> None:
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("keep me", encoding="utf-8")
    link = tmp_path / "out" / "result.csv"
    link.parent.mkdir()
    link.symlink_to(outside)
    assert "symbolic link" in _cli_error(capsys, "batch", POLITICS, str(answers), "-o", str(link), "--quiet")
    assert outside.read_text(encoding="utf-8") == "keep me" and link.is_symlink()


def test_batch_to_proc_is_one_line(capsys, answers: Path) -> None:
    if not Path("/proc/version").exists():
        pytest.skip("no /proc")
    line = _cli_error(capsys, "batch", POLITICS, str(answers), "-o", "/proc/version", "--quiet")
    assert line.startswith("grader: error: /proc/version: cannot write file")


def test_rubric_build_refuses_a_device(capsys, tmp_path: Path) -> None:
    model = tmp_path / "model.txt"
    model.write_text("Khrushchev denounced Stalin in the Secret Speech of 1956.", encoding="utf-8")
    line = _cli_error(capsys, "rubric", "build", "--question", "What changed?", "--model-answer-file", str(model),
                      "-o", "/dev/null", "--id", "x", "--no-wordnet")
    assert "/dev/null: is a device" in line


def test_save_rubric_never_follows_a_bak_link_out_of_the_folder(tmp_path: Path, rubric_data: dict) -> None:
    root = tmp_path / "rubrics"
    root.mkdir()
    target = root / "thaw.yaml"
    save_rubric(rubric_from_dict(rubric_data), target, root=root)
    outside = tmp_path / "outside.txt"
    outside.write_text("secret", encoding="utf-8")
    (root / "thaw.yaml.bak").symlink_to(outside)
    rubric_data["title"] = "Edited"
    with pytest.raises(RubricError, match=r"thaw.yaml.bak: refusing to write outside"):
        save_rubric(rubric_from_dict(rubric_data), target, root=root)
    assert outside.read_text(encoding="utf-8") == "secret"
    assert load_rubric(target).title == "The Thaw"


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_new_files_follow_the_umask(tmp_path: Path, rubric_data: dict, answers: Path, umask: int) -> None:
    old = os.umask(umask)
    try:
        save_rubric(rubric_from_dict(rubric_data), tmp_path / "r.yaml")
        assert main([
            "batch", POLITICS, str(answers), "-o", str(tmp_path / "out.csv"), "--quiet"]) == 0
    finally:
        os.umask(old)
    for name in ("r.yaml", "out.csv"):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o666 & ~umask, name


def test_a_replaced_file_keeps_its_mode_and_no_temp_is_left(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_text("old", encoding="utf-8")
    target.chmod(0o640)
    with atomic_write(target) as fh:
        fh.write("new")
    assert target.read_text() == "new" and stat.S_IMODE(target.stat().st_mode) == 0o640
    with pytest.raises(ZeroDivisionError):
        with atomic_write(target) as fh:
            fh.write("half")
            1 / 0
    assert target.read_text() == "new" and sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_check_target_with_root(tmp_path: Path) -> None:
    assert check_target(tmp_path / "a.yaml", root=tmp_path) == tmp_path / "a.yaml"
    with pytest.raises(OutputError, match="refusing to write outside"):
        check_target(tmp_path / ".." / "a.yaml", root=tmp_path)


def test_score_file_from_a_fifo_is_refused_without_hanging(capsys, tmp_path: Path) -> None:
    fifo = tmp_path / "answer.txt"
    os.mkfifo(fifo)
    assert "not a regular file" in _cli_error(capsys, "score", POLITICS, "--file", str(fifo))


@pytest.mark.subprocess  # starts grader batch in a child process
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_terminated_batch_leaves_no_partial_file(tmp_path: Path, jobs: str) -> None:
    """Issue 12, item 14: SIGTERM during `grader batch` removes the hidden .part file."""
    import signal
    import subprocess
    import sys
    import time

    src = tmp_path / "big.csv"
    answer = "Khrushchev denounced Stalin in the Secret Speech and political prisoners were released"
    src.write_text("question_id,answer\n" + "".join(f"destal-politics,{answer} {i}\n" for i in range(200_000)), encoding="utf-8")
    out = tmp_path / "out" / "result.csv"
    out.parent.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "grader", "batch", POLITICS, str(src), "-o", str(out), "--quiet",
                             "--chunk-size", "200", "--jobs", jobs], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list(out.parent.glob(".result.csv.*.part")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, proc.stderr.read()  # still running, its .part file exists
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGTERM
    assert list(out.parent.iterdir()) == []


def test_save_stream_limits_size_and_refuses_a_foreign_folder(tmp_path: Path) -> None:
    import io

    from grader.errors import InputError
    from grader.files import prune_old_files, save_stream

    folder = tmp_path / "uploads"
    path, digest = save_stream(io.BytesIO(b"a" * 10), folder, suffix=".csv", max_bytes=10, name="ok.csv")
    assert path.name == f"{digest}.csv" and stat.S_IMODE(folder.stat().st_mode) == 0o700
    with pytest.raises(InputError, match=r"^big.csv: the file is larger than"):
        save_stream(io.BytesIO(b"a" * 11), folder, max_bytes=10, name="big.csv")
    assert sorted(p.name for p in folder.iterdir()) == [path.name]  # nothing half-written left
    link = tmp_path / "link"
    link.symlink_to(folder)
    with pytest.raises(OutputError, match="not a folder of this user"):
        save_stream(io.BytesIO(b"x"), link, max_bytes=10)
    old = os.stat(path).st_mtime
    assert prune_old_files(folder, max_age_seconds=3600, now=old + 100) == 0
    assert prune_old_files(folder, max_age_seconds=3600, now=old + 7200) == 1 and not path.exists()
