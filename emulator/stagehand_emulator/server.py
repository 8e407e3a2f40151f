"""Start the emulator: moto's server app behind the layer, on 127.0.0.1 and a free port.

    python -m stagehand_emulator [--port 0] [--port-file F] [--exit-with-stdin]

Prints one line "READY http://127.0.0.1:PORT" on stdout once it answers, then serves until
SIGTERM/SIGINT (or, with --exit-with-stdin, until its stdin closes: a test harness that dies
takes its emulator with it).
"""

import argparse
import os
import signal
import sys
import threading

# moto reads these when its modules load, so they are set before the import below.
DEFAULTS = {
    "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",  # AmazonECSTaskExecutionRolePolicy must exist
    "MOTO_ECS_SERVICE_RUNNING": "3",  # else a service's running count stays 0
    "MOTO_ALLOW_NONEXISTENT_REGION": "false",
    "AWS_DEFAULT_REGION": "us-west-2",
}


def main():
    parser = argparse.ArgumentParser(prog="stagehand_emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--port-file", help="write the chosen port here once serving")
    parser.add_argument("--exit-with-stdin", action="store_true")
    args = parser.parse_args()

    for key, value in DEFAULTS.items():
        os.environ.setdefault(key, value)

    from werkzeug.serving import make_server
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from . import fidelity
    from .layer import Layer

    moto_app = DomainDispatcherApplication(create_backend_app)
    app = Layer(moto_app, routes=fidelity.routes())
    fidelity.install()

    server = make_server(args.host, args.port, app, threaded=True)
    port = server.socket.getsockname()[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.replace(tmp, args.port_file)
    print(f"READY http://{args.host}:{port}", flush=True)

    def stop(*_):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.exit_with_stdin:
        def watch():
            sys.stdin.read()
            stop()

        threading.Thread(target=watch, daemon=True).start()
    server.serve_forever()
