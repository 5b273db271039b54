import shutil

from course import cli


def test_workspace_copies_each_release_once_and_never_overwrites(tmp_path):
    shutil.copytree(cli.ROOT / "release", tmp_path / "release")
    work = cli.prepare_workspace(tmp_path)
    notebooks = sorted(work.glob("*/*.ipynb"))
    assert [p.parent.name for p in notebooks] == sorted(p.name for p in (tmp_path / "release").iterdir())
    notebooks[0].write_text("my work")
    cli.prepare_workspace(tmp_path)
    assert notebooks[0].read_text() == "my work"


def test_start_without_a_display_runs_the_demo(monkeypatch, capsys):
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(cli.sys, "platform", "linux")
    called = []
    monkeypatch.setattr("course.demo.main", lambda: called.append(True) or 0)
    assert cli.main(["start"]) == 0
    assert called == [True]
    assert "demo grading" in capsys.readouterr().out
