"""Saved example notebooks look right before anyone runs them (GitHub, nbviewer, Binder's first view)."""

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).parents[2] / "notebooks").glob("*.ipynb"))
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
RAW_REPR = re.compile(r"\b[A-Z]\w*\((children|value|layout)=")  # e.g. VBox(children=(HTML(value=...


def widget_outputs(notebook: dict) -> list[tuple[int, dict]]:
    return [
        (index, output["data"])
        for index, cell in enumerate(notebook["cells"])
        for output in cell.get("outputs", [])
        if WIDGET_VIEW in output.get("data", {})
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_every_widget_output_can_be_shown_without_a_kernel(path):
    notebook = json.loads(path.read_text())
    state = notebook.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    for cell, data in widget_outputs(notebook):
        model = data[WIDGET_VIEW]["model_id"]
        where = f"{path.name} cell {cell}"
        assert "text/html" in data or model in state, f"{where}: a widget with neither saved state nor HTML"
        text = "".join(data.get("text/plain", ""))
        assert text.strip(), f"{where}: no text for viewers that show only text"
        assert not RAW_REPR.search(text), f"{where}: shows a raw widget repr: {text[:80]!r}"


def test_the_notebooks_with_widgets_are_checked():
    with_widgets = [p.name for p in NOTEBOOKS if widget_outputs(json.loads(p.read_text()))]
    assert "02_order_ticket_and_blotter.ipynb" in with_widgets  # the ticket, blotter and dashboard
