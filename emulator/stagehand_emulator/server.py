"""Start the emulator: moto's server app behind the layer, on 127.0.0.1 and a free port.

    python -m stagehand_emulator [--port 0] [--port-file F] [--exit-with-stdin]
    python -m stagehand_emulator --zygote SOCKET

Prints one line "READY http://127.0.0.1:PORT" on stdout once it answers, then serves until
SIGTERM/SIGINT (or, with --exit-with-stdin, until its stdin closes: a test harness that dies
takes its emulator with it).

--zygote is for test suites that start hundreds of emulators: importing moto and the layer
costs 2-3 s of CPU each time. The zygote imports once, then listens on a Unix socket; each
connection gets a forked emulator of its own, fresh as a new process (nothing is created
before the fork), that answers "READY http://127.0.0.1:PORT PID" on the connection and exits
when the connection closes. The zygote exits when its sources change (it answers "STALE" and
the client starts a new one) or after ZYGOTE_IDLE_S without a connection.
"""

import argparse
import os
import signal
import socket
import sys
import threading
import traceback

# moto reads these when its modules load, so they are set before the import below.
DEFAULTS = {
    "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",  # AmazonECSTaskExecutionRolePolicy must exist
    "MOTO_ECS_SERVICE_RUNNING": "3",  # else a service's running count stays 0
    "MOTO_ALLOW_NONEXISTENT_REGION": "false",
    "AWS_DEFAULT_REGION": "us-west-2",
}

ZYGOTE_IDLE_S = 60
# The services stagehand's tools call: their modules and routing are loaded before the fork.
WARM = ("ec2", "ecs", "ecr", "elbv2", "iam", "rds", "secretsmanager", "ssm", "logs", "s3",
        "codebuild", "codepipeline", "servicediscovery", "sts", "events")


def main():
    parser = argparse.ArgumentParser(prog="stagehand_emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--port-file", help="write the chosen port here once serving")
    parser.add_argument("--exit-with-stdin", action="store_true")
    parser.add_argument("--zygote", metavar="SOCKET", help="fork an emulator per connection")
    args = parser.parse_args()

    for key, value in DEFAULTS.items():
        os.environ.setdefault(key, value)

    app = _app()
    if args.zygote:
        return _zygote(args.zygote, app)
    _serve(app, args.host, args.port, args.port_file, _stdout_ready,
           sys.stdin.read if args.exit_with_stdin else None)


def _app():
    """moto's app behind the layer; imports everything, starts nothing (no thread, no socket)."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from . import dispatch, fidelity
    from .layer import Layer

    dispatch.install()

    moto_app = DomainDispatcherApplication(create_backend_app)
    return Layer(moto_app, routes=fidelity.routes())


def _stdout_ready(url):
    print(f"READY {url}", flush=True)


def _serve(app, host, port, port_file, ready, wait_for_end):
    """Serve until SIGTERM/SIGINT or until `wait_for_end` returns (when given)."""
    from werkzeug.serving import make_server

    from . import fidelity

    fidelity.install()  # patches once; starts the simulation's thread (after any fork)
    server = make_server(host, port, app, threaded=True)
    port = server.socket.getsockname()[1]
    if port_file:
        tmp = port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.replace(tmp, port_file)
    ready(f"http://{host}:{port}")

    def stop(*_):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if wait_for_end:
        def watch():
            try:
                wait_for_end()
            finally:
                stop()

        threading.Thread(target=watch, daemon=True).start()
    server.serve_forever()


def _sources_stamp():
    """The newest modification time of the layer's sources and of the installed moto: a
    zygote never serves old code."""
    root = os.path.dirname(os.path.abspath(__file__))
    installed = os.path.join(root, "..", ".venv", ".installed")
    newest = os.stat(installed).st_mtime if os.path.exists(installed) else 0.0
    for directory, _, files in os.walk(root):
        for name in files:
            if name.endswith(".py"):
                newest = max(newest, os.stat(os.path.join(directory, name)).st_mtime)
    return newest


def _zygote(path, app):
    import random

    from moto.moto_api._internal import mock_random

    # Warm what every emulator would load on its first requests, before any fork.
    from werkzeug.serving import make_server  # noqa: F401
    from . import models

    from . import fidelity

    for name in WARM:
        app.moto_app.app_instances[name] = app.moto_app.create_app(name)
    for name in WARM + ("codestar-connections", "codestar-notifications"):
        models.service_model(name)
    # moto makes a backend on its first use in an account; IAM's parses ~1,000 managed
    # policies for each partition (most of a second). Made here, after the patches, for the
    # default account that tests use, they are made once; another account's are made lazily.
    fidelity.install(start=False)
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ec2.models import ec2_backends
    from moto.iam.models import PARTITION_NAMES, iam_backends

    for partition in PARTITION_NAMES:
        iam_backends[DEFAULT_ACCOUNT_ID][partition]
    ec2_backends[DEFAULT_ACCOUNT_ID][os.environ["AWS_DEFAULT_REGION"]]

    stamp = _sources_stamp()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    # Stopped (kill, a cleanup), it still removes its socket on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    tmp = f"{path}.{os.getpid()}"
    listener.bind(tmp)
    inode = os.stat(tmp).st_ino
    listener.listen(64)
    os.replace(tmp, path)  # atomically: a client never connects to a half-made socket
    try:
        # READY is said inside the `try`: a SIGTERM right after it still removes the socket.
        listener.settimeout(ZYGOTE_IDLE_S)
        print("READY", flush=True)
        while True:
            try:
                conn, _ = listener.accept()
            except socket.timeout:
                return
            if _sources_stamp() != stamp:
                conn.sendall(b"STALE\n")
                conn.close()
                return
            if os.fork() == 0:
                # The child never returns into this loop (nor runs its `finally`, which would
                # remove the zygote's socket): it exits here, whatever happens.
                code = 0
                try:
                    listener.close()
                    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                    # Each emulator its own ids and uuids, as separate processes would have.
                    random.seed()
                    mock_random.seed()
                    _child(conn, app)
                except BaseException:
                    traceback.print_exc()
                    code = 1
                finally:
                    os._exit(code)
            conn.close()
    finally:
        try:
            if os.stat(path).st_ino == inode:  # not a newer zygote's socket
                os.unlink(path)
        except OSError:
            pass


def _child(conn, app):
    os.setsid()  # its own session: a signal to the zygote's group does not reach it

    def ready(url):
        conn.sendall(f"READY {url} {os.getpid()}\n".encode())

    def until_closed():
        while conn.recv(4096):
            pass

    try:
        _serve(app, "127.0.0.1", 0, None, ready, until_closed)
    finally:
        conn.close()
