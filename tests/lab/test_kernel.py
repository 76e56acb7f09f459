"""The bridge in a real IPython kernel (nbclient): events while idle, while a cell blocks, and on run-all."""

import json
import sys

import ipykernel
import nbformat
from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

CELLS = [
    "from ntlab import Lab\n"
    "import threading, time\n"
    "lab = Lab(journal=None, speed=600)  # 1 s of wall time is 10 minutes of market\n"
    "kernel_thread = threading.get_ident()\n"
    "events = []\n"
    "lab.on_event(lambda e: events.append((e.kind, threading.get_ident() == kernel_thread)))",
    "resting = lab.buy('AAPL', 10, limit=lab.quote('AAPL').bid)\nprint(resting.status.value)",
    "time.sleep(1.5)  # the cell blocks; the core keeps trading\nprint(resting.status.value)",
    "print(sorted(set(events)))",
    "lab.close()",
]


def this_interpreters_kernel(tmp_path) -> KernelManager:
    """A kernel of the Python running the tests, whatever kernelspecs the machine has."""
    spec = tmp_path / "kernels" / "ntlab-test"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "ntlab test", "language": "python"})
    )
    specs = KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")])
    return KernelManager(kernel_name="ntlab-test", kernel_spec_manager=specs)


def test_real_kernel_handles_events_while_idle_and_while_a_cell_blocks(tmp_path):
    print("ipykernel", ipykernel.__version__)
    notebook = new_notebook(cells=[new_code_cell(source) for source in CELLS])
    NotebookClient(notebook, timeout=120, km=this_interpreters_kernel(tmp_path)).execute()
    outputs = ["".join(o.get("text", "") for o in cell.outputs).strip() for cell in notebook.cells]
    assert outputs[1] == "accepted"
    assert outputs[2] == "filled"  # filled while the cell was sleeping
    # callbacks ran on the kernel's own thread, for the new order and its fills
    assert outputs[3] == "[('fill', True), ('order', True)]"
    assert nbformat.validate(notebook) is None
