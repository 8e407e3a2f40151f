"""One emulator for a test module, served in this process on a free port of 127.0.0.1, and
boto3 clients aimed at it (the SDK a user's script would use, not the emulator's internals).

    emu = Emulator.shared()
    ecs = emu.client("ecs")
    emu.control("POST", "holds", {"rollout_s": 0})

`reset()` between tests: moto's reset plus every fidelity module's, holds back to defaults.
"""

import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
os.environ.setdefault("MOTO_ECS_SERVICE_RUNNING", "3")
os.environ.setdefault("MOTO_ALLOW_NONEXISTENT_REGION", "false")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-west-2")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402

REGION = "us-west-2"
ACCOUNT = "123456789012"


class Emulator:
    _shared = None

    @classmethod
    def shared(cls):
        if cls._shared is None:
            cls._shared = cls()
        return cls._shared

    def __init__(self):
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import WSGIRequestHandler, make_server

        class Quiet(WSGIRequestHandler):
            def log_request(self, *args, **kwargs):
                pass

        from stagehand_emulator import fidelity
        from stagehand_emulator.fidelity import holds
        from stagehand_emulator.layer import Layer

        app = Layer(DomainDispatcherApplication(create_backend_app), routes=fidelity.routes())
        fidelity.install()
        self._defaults = holds.current()
        self.server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=Quiet)
        self.url = f"http://127.0.0.1:{self.server.socket.getsockname()[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def client(self, service):
        return boto3.client(
            service, region_name=REGION, endpoint_url=self.url,
            aws_access_key_id="test", aws_secret_access_key="test",
            config=Config(retries={"max_attempts": 1}),
        )

    def control(self, method, what, body=None):
        """(status, JSON answer) of a control call."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.url}/_stagehand/{what}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def reset(self):
        urllib.request.urlopen(urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")).read()
        status, _ = self.control("POST", "holds", self._defaults)
        assert status == 200


def wait_for(predicate, timeout=10.0, interval=0.02, what="condition"):
    """Poll `predicate` until it returns a truthy value (returned); fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)
