import shutil
import webbrowser

from course import cli, start


def test_workspace_copies_each_release_once_and_never_overwrites(tmp_path):
    shutil.copytree(cli.ROOT / "release", tmp_path / "release")
    work = start.prepare_workspace(tmp_path)
    notebooks = sorted(work.glob("*/*.ipynb"))
    assert [p.parent.name for p in notebooks] == sorted(p.name for p in (tmp_path / "release").iterdir() if p.is_dir())
    notebooks[0].write_text("my work")
    start.prepare_workspace(tmp_path)
    assert notebooks[0].read_text() == "my work"


def _headless(monkeypatch):
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(start.sys, "platform", "linux")


def test_start_without_a_display_serves_jupyterlab_not_the_demo(monkeypatch):
    """Headless, `make start` still serves the student's work/ (it prints the URL); the demo is `make demo`."""
    _headless(monkeypatch)
    assert not start.can_open_browser()
    calls = []
    monkeypatch.setattr("course.start.start", lambda root, **kw: calls.append((root, kw)) or 0)
    monkeypatch.setattr("course.demo.main", lambda: calls.append("demo") or 0)
    assert cli.main(["start"]) == 0
    assert cli.main(["start", "--lab"]) == 0  # make lab: the same
    assert cli.main(["start", "--no-browser", "--port", "9999"]) == 0
    assert calls == [(cli.ROOT, {"port": None, "open_browser": None}),
                     (cli.ROOT, {"port": None, "open_browser": None}),
                     (cli.ROOT, {"port": 9999, "open_browser": False})]


def test_a_display_without_a_browser_is_headless_too(monkeypatch):
    _headless(monkeypatch)
    monkeypatch.setenv("DISPLAY", ":0")

    def no_browser(*_):
        raise webbrowser.Error("could not locate runnable browser")

    monkeypatch.setattr(start.webbrowser, "get", no_browser)
    assert not start.can_open_browser()
    monkeypatch.setattr(start.webbrowser, "get", lambda *_: object())
    assert start.can_open_browser()


def test_the_browser_opens_only_with_a_display(tmp_path):
    headless = start.lab_command(tmp_path, port=8888, token="t", open_browser=False, notebook="s/s.ipynb")
    assert "--ServerApp.open_browser=False" in headless and "s/s.ipynb" not in headless
    shown = start.lab_command(tmp_path, port=8888, token="t", open_browser=True, notebook="s/s.ipynb")
    assert "--ServerApp.open_browser=True" in shown and shown[-1] == "s/s.ipynb"
    for args in (headless, shown):
        assert "--ServerApp.ip=127.0.0.1" in args and f"--ServerApp.root_dir={tmp_path}" in args
