"""The report shows blind spots: the sample's StopLogging window, per sample_logs/README.md."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from tui.cli import main

SAMPLE = Path(__file__).resolve().parents[2] / "sample_logs"


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.chunks: list[str] = []

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)


def test_report_lists_the_logging_stopped_window(tmp_path, capsys):
    case = str(tmp_path / "case")
    assert main(["ingest", str(SAMPLE), "--case", case]) == 0
    assert (
        main(["validate", str(SAMPLE), "--public-key", str(SAMPLE / "test-signing-key.public.pem"), "--case", case])
        == 0
    )
    capsys.readouterr()
    out = tmp_path / "report.html"
    assert main(["export", "--case", case, "--format", "html", "--out", str(out)]) == 0
    parser = _Text()
    parser.feed(out.read_text())
    text = " ".join(parser.chunks)
    assert "Coverage and blind spots" in text
    # README: StopLogging on acme-prod-account-trail at 2024-05-07 03:02:10, never restarted.
    assert "logging-stopped" in text
    assert "2024-05-07T03:02:10Z" in text
    assert "acme-prod-account-trail" in text
