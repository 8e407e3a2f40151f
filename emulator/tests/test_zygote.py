"""The zygote (python -m stagehand_emulator --zygote SOCKET) that test suites fork emulators
from: each connection gets an emulator of its own, as fresh as a new process, that ends with
its connection; a zygote whose sources changed refuses to serve old code."""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request
from pathlib import Path

EMULATOR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(EMULATOR))
PACKAGE = EMULATOR / "stagehand_emulator"


def _connect(path):
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(path)
    conn.settimeout(60)
    line = conn.makefile().readline().split()
    return conn, line


def _call(url, target, body):
    """A JSON-protocol AWS call (Secrets Manager) straight to the emulator."""
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": f"secretsmanager.{target}",
        "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-west-2/secretsmanager/"
                         "aws4_request, SignedHeaders=host, Signature=x",
    })
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read() or b"{}")


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped) is gone for our purpose.
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(")")[-1].split()[0] != "Z"


class ZygoteTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        cls.path = os.path.join(cls.dir.name, "z.sock")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env["NO_PROXY"] = "127.0.0.1,localhost"
        cls.zygote = subprocess.Popen(
            [sys.executable, "-m", "stagehand_emulator", "--zygote", cls.path],
            cwd=EMULATOR, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        assert cls.zygote.stdout.readline().strip() == b"READY"
        os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"

    @classmethod
    def tearDownClass(cls):
        cls.zygote.kill()
        cls.zygote.wait()
        cls.dir.cleanup()

    def test_each_connection_gets_a_fresh_emulator_of_its_own_that_ends_with_it(self):
        a, ready_a = _connect(self.path)
        b, ready_b = _connect(self.path)
        self.assertEqual(ready_a[0], "READY")
        url_a, pid_a = ready_a[1], int(ready_a[2])
        url_b, pid_b = ready_b[1], int(ready_b[2])
        self.assertNotEqual(url_a, url_b)
        self.assertNotEqual(pid_a, pid_b)
        # State made in one is not in the other: two processes, nothing shared.
        made = _call(url_a, "CreateSecret", {"Name": "only-in-a", "SecretString": "x"})
        self.assertIn("only-in-a", made["ARN"])
        self.assertEqual([s["Name"] for s in _call(url_a, "ListSecrets", {})["SecretList"]],
                         ["only-in-a"])
        self.assertEqual(_call(url_b, "ListSecrets", {})["SecretList"], [])
        # Each has its own random ids (reseeded after the fork).
        made_b = _call(url_b, "CreateSecret", {"Name": "only-in-a", "SecretString": "x"})
        self.assertNotEqual(made["ARN"], made_b["ARN"])
        # The control API is the emulator's own too.
        with urllib.request.urlopen(f"{url_a}/_stagehand/health", timeout=30) as answer:
            self.assertEqual(answer.status, 200)
        # Closing the connection ends that emulator, and only it.
        a.close()
        deadline = time.time() + 10
        while _alive(pid_a) and time.time() < deadline:
            time.sleep(0.05)
        self.assertFalse(_alive(pid_a), "the emulator outlived its connection")
        self.assertTrue(_alive(pid_b))
        b.close()

    def test_a_zygote_stopped_with_sigterm_removes_its_socket(self):
        with tempfile.TemporaryDirectory() as dir_:
            path = os.path.join(dir_, "term.sock")
            zygote = subprocess.Popen(
                [sys.executable, "-m", "stagehand_emulator", "--zygote", path],
                cwd=EMULATOR, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            try:
                self.assertEqual(zygote.stdout.readline().strip(), b"READY")
                self.assertTrue(os.path.exists(path))
                zygote.terminate()
                self.assertEqual(zygote.wait(timeout=30), 0)
                self.assertFalse(os.path.exists(path), "the stopped zygote left its socket")
            finally:
                zygote.stdout.close()
                if zygote.poll() is None:
                    zygote.kill()

    def test_a_zygote_whose_sources_changed_answers_stale_and_exits(self):
        dir_ = tempfile.TemporaryDirectory()
        path = os.path.join(dir_.name, "stale.sock")
        zygote = subprocess.Popen(
            [sys.executable, "-m", "stagehand_emulator", "--zygote", path],
            cwd=EMULATOR, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.assertEqual(zygote.stdout.readline().strip(), b"READY")
        source = PACKAGE / "__main__.py"
        before = source.stat()
        try:
            # Newer than everything the zygote watches (the installed moto included: in a
            # fresh clone the venv is newer than the sources).
            from stagehand_emulator.server import _sources_stamp

            newest = int(_sources_stamp() * 10**9)
            os.utime(source, ns=(before.st_atime_ns, newest + 10**9))
            conn, line = _connect(path)
            conn.close()
            zygote.stdout.close()
            self.assertEqual(line, ["STALE"])
            self.assertEqual(zygote.wait(timeout=30), 0)
            self.assertFalse(os.path.exists(path), "the stale zygote left its socket")
        finally:
            os.utime(source, ns=(before.st_atime_ns, before.st_mtime_ns))
            if zygote.poll() is None:
                zygote.kill()
            dir_.cleanup()


if __name__ == "__main__":
    unittest.main()
