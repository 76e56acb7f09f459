"""The bridge in a real IPython kernel while no cell runs: fills arrive, and callbacks run on the kernel's thread."""

import json
import time

from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from tests.lab.test_kernel import this_interpreters_kernel


def test_callbacks_run_on_the_kernels_thread_while_it_is_idle(tmp_path):
    record = tmp_path / "events.jsonl"
    cells = [
        "import json, threading\n"
        "from ntlab import Lab\n"
        "lab = Lab(journal=None, speed=600)\n"
        "kernel_thread = threading.get_ident()\n"
        "def note(event):\n"
        f"    with open({str(record)!r}, 'a') as f:\n"
        "        f.write(json.dumps([event.kind, event.order.status.value,"
        " threading.get_ident() == kernel_thread]) + '\\n')\n"
        "lab.on_event(note)\n"
        "resting = lab.buy('AAPL', 10, limit=lab.quote('AAPL').bid)\n"
        "print(resting.status.value)",
        "print(resting.status.value)\nlab.close()",
    ]
    notebook = new_notebook(cells=[new_code_cell(source) for source in cells])
    client = NotebookClient(notebook, timeout=120, km=this_interpreters_kernel(tmp_path))
    with client.setup_kernel():
        client.execute_cell(notebook.cells[0], 0)
        assert notebook.cells[0].outputs[0]["text"].strip() == "accepted"
        # the kernel is idle now: nothing runs in it but its own event loop
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            lines = record.read_text().splitlines() if record.exists() else []
            if any(json.loads(line)[0] == "fill" for line in lines):
                break
            time.sleep(0.1)
        events = [json.loads(line) for line in lines]
        assert ["fill", "filled", True] in events  # handled while idle, on the kernel's thread
        assert all(on_kernel_thread for _, _, on_kernel_thread in events)
        client.execute_cell(notebook.cells[1], 1)
        assert notebook.cells[1].outputs[0]["text"].strip() == "filled"
