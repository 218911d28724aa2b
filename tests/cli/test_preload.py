"""cli.preload: numba starts in the caller's thread, the modules are imported in another."""

import subprocess
import sys

CHECK = """
import sys, threading
from cli.preload import start_preload
assert "scipy.stats" not in sys.modules and "numba.np.arraymath" not in sys.modules
thread = start_preload(("scipy.stats", "no_such_module_here", "colorsys"))
assert "numba.np.arraymath" in sys.modules  # numba's start-up ran before the thread
assert thread.daemon and thread is not threading.current_thread()
thread.join(60)
assert not thread.is_alive()
assert "scipy.stats" in sys.modules
assert "colorsys" not in sys.modules  # a failed import ends the thread's list
print("ok")
"""


def test_preload_starts_numba_first_and_imports_in_a_thread():
    done = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
