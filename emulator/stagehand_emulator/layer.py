"""The WSGI layer in front of moto: call accounting, faults, latency, control endpoints."""

import io
import json
import threading
import time

from . import calls

CONTROL = "/_stagehand/"


class BadControl(ValueError):
    """A control request the emulator does not understand (answered 400)."""


FAULT_KEYS = {"service", "action", "kind", "code", "message", "status", "forward", "times", "latency_ms"}
FAULT_KINDS = {"throttle", "5xx", "drop", "latency", "error"}


class Fault:
    """One injected fault: matches service/action ('*' for any) and fires `times` times."""

    def __init__(self, spec):
        if not isinstance(spec, dict):
            raise BadControl("a fault is an object")
        unknown = sorted(set(spec) - FAULT_KEYS)
        if unknown:
            raise BadControl(f"unknown fault key(s) {', '.join(unknown)}; known: {', '.join(sorted(FAULT_KEYS))}")
        if spec.get("kind", "throttle") not in FAULT_KINDS:
            raise BadControl(f"unknown fault kind {spec.get('kind')!r}; known: {', '.join(sorted(FAULT_KINDS))}")
        self.service = spec.get("service", "*")
        self.action = spec.get("action", "*")
        self.kind = spec.get("kind", "throttle")  # throttle | 5xx | drop | latency | error
        # kind "error": answer this code/message/status; with "forward", moto handles the
        # request first (so "someone else created it in between" can be staged).
        self.code = spec.get("code", "InternalFailure")
        self.message = spec.get("message", "injected error")
        self.status = spec.get("status", "400 Bad Request")
        self.forward = bool(spec.get("forward", False))
        self.times = int(spec.get("times", 1))
        self.latency_ms = int(spec.get("latency_ms", 0))

    def matches(self, service, action):
        return self.times != 0 and self.service in ("*", service) and self.action in ("*", action)


class Layer:
    def __init__(self, moto_app, routes=None):
        self.moto_app = moto_app
        # Extra services the layer answers itself (service signing name -> WSGI-ish handler).
        self.routes = routes or {}
        self.lock = threading.Lock()
        self.log = []  # one dict per AWS call, in arrival order
        self.faults = []
        self.latency_ms = 0

    # ---------------------------------------------------------------- WSGI entry
    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith(CONTROL):
            return self.control(environ, start_response, path[len(CONTROL):])
        body = _read_body(environ)
        service, region, action, params = calls.classify(environ, body)
        if not path.startswith("/moto-api"):
            fault = self.record(service, region, action, params)
            delay = self.latency_ms + (fault.latency_ms if fault else 0)
            if delay:
                time.sleep(delay / 1000)
            if fault and fault.kind != "latency":
                if fault.forward:
                    _drain(self.moto_app(environ, lambda *a, **k: None))
                return _fault_response(fault, environ, service, start_response)
        if path == "/moto-api/reset":
            from . import fidelity

            fidelity.reset()
        handler = self.routes.get(service)
        if handler is not None:
            return handler(environ, start_response, body, region, action)
        return self.moto_app(environ, start_response)

    def record(self, service, region, action, params):
        with self.lock:
            self.log.append(
                {
                    "seq": len(self.log) + 1,
                    "service": service,
                    "region": region,
                    "action": action,
                    "mutating": calls.is_mutating(action),
                    "params": params,
                }
            )
            for fault in self.faults:
                if fault.matches(service, action):
                    fault.times -= 1
                    return fault
        return None

    # ---------------------------------------------------------------- control API
    def control(self, environ, start_response, what):
        method = environ.get("REQUEST_METHOD", "GET")
        query = dict(p.split("=", 1) for p in environ.get("QUERY_STRING", "").split("&") if "=" in p)
        if what == "health":
            return _json(start_response, {"ok": True})
        if what == "mark":
            with self.lock:
                return _json(start_response, {"mark": len(self.log)})
        if what == "calls":
            since = int(query.get("since", 0))
            with self.lock:
                entries = self.log[since:]
            return _json(start_response, summarize(entries, detail=query.get("detail") == "1"))
        if what == "faults" and method == "POST":
            spec = json.loads(_read_body(environ) or b"[]")
            try:
                faults = [Fault(s) for s in (spec if isinstance(spec, list) else [spec])]
            except BadControl as e:
                return _json(start_response, {"error": str(e)}, "400 Bad Request")
            with self.lock:
                self.faults = faults
            return _json(start_response, {"faults": len(self.faults)})
        if what == "latency" and method == "POST":
            self.latency_ms = int(json.loads(_read_body(environ) or b"{}").get("ms", 0))
            return _json(start_response, {"latency_ms": self.latency_ms})
        if what == "holds":
            from .fidelity import holds

            if method == "POST":
                try:
                    holds.configure(json.loads(_read_body(environ) or b"{}"))
                except (holds.UnknownHold, ValueError, TypeError) as e:
                    return _json(start_response, {"error": str(e)}, "400 Bad Request")
                return _json(start_response, holds.current())
            return _json(start_response, holds.described())
        from . import fidelity

        handler = fidelity.control_routes().get(what)
        if handler is not None:
            return _extra_control(start_response, handler, method, query, environ)
        start_response("404 Not Found", [("Content-Type", "application/json")])
        return [b'{"error": "unknown control endpoint"}']


def _extra_control(start_response, handler, method, query, environ):
    """A control endpoint a fidelity module declares (CONTROL_ROUTES): handler(method, body,
    query) answers (status, value); BadControl (or ValueError) is a 400."""
    try:
        raw = _read_body(environ)
        body = json.loads(raw) if raw.strip() else {}
        status, value = handler(method, body, query)
    except (BadControl, ValueError, TypeError) as e:
        return _json(start_response, {"error": str(e)}, "400 Bad Request")
    return _json(start_response, value, status)


def summarize(entries, detail=False):
    by_action = {}
    for e in entries:
        key = f"{e['service']}:{e['action']}"
        by_action[key] = by_action.get(key, 0) + 1
    out = {
        "total": len(entries),
        "mutating": sum(1 for e in entries if e["mutating"]),
        "read_only": sum(1 for e in entries if not e["mutating"]),
        "bench_mutating": sum(1 for e in entries if calls.is_bench_mutating(e["action"])),
        "mutating_actions": sorted({f"{e['service']}:{e['action']}" for e in entries if e["mutating"]}),
        "by_action": dict(sorted(by_action.items())),
    }
    if detail:
        out["requests"] = entries
    return out


def _read_body(environ):
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length else b""
    # moto reads the body again: hand it a fresh stream.
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def _drain(iterable):
    for _ in iterable:
        pass
    close = getattr(iterable, "close", None)
    if close:
        close()


def _json(start_response, value, status="200 OK"):
    data = json.dumps(value).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


# Query-protocol services answer errors in XML, JSON-protocol ones in JSON; the SDKs classify
# throttling by the error code, so each gets the code its real service uses.
QUERY_SERVICES = {"ec2", "iam", "rds", "elasticloadbalancing", "sns", "sts", "autoscaling"}


def _fault_response(fault, environ, service, start_response):
    if fault.kind == "drop":
        sock = environ.get("werkzeug.socket")
        if sock is not None:
            try:
                import socket

                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        start_response("500 Internal Server Error", [("Content-Length", "0")])
        return [b""]
    if fault.kind == "error":
        status, code, message = fault.status, fault.code, fault.message
    elif fault.kind == "throttle":
        status = "400 Bad Request"
        code = "RequestLimitExceeded" if service == "ec2" else (
            "Throttling" if service in QUERY_SERVICES else "ThrottlingException")
        message = "Rate exceeded"
    else:
        status = "503 Service Unavailable"
        code = "ServiceUnavailable"
        message = "Service is unavailable (injected)"
    if service == "ec2":
        body = (f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message>"
                f"</Error></Errors><RequestID>fault</RequestID></Response>").encode()
        ctype = "text/xml"
    elif service in QUERY_SERVICES:
        body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}"
                f"</Message></Error><RequestId>fault</RequestId></ErrorResponse>").encode()
        ctype = "text/xml"
    else:
        body = json.dumps({"__type": code, "message": message}).encode()
        ctype = "application/x-amz-json-1.1"
    start_response(status, [("Content-Type", ctype), ("x-amzn-ErrorType", code),
                            ("Content-Length", str(len(body)))])
    return [body]
