"""The WSGI layer in front of moto: call accounting, faults, latency, request validation
(AWS's models and documented limits), control endpoints."""

import io
import json
import os
import threading
import time
from urllib.parse import parse_qsl

from . import calls

CONTROL = "/_stagehand/"


class BadControl(ValueError):
    """A control request the emulator does not understand (answered 400)."""


FAULT_KEYS = {"service", "action", "kind", "code", "message", "status", "forward", "times", "latency_ms"}
FAULT_KINDS = {"throttle", "5xx", "drop", "latency", "error", "lost"}


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
        # throttle | 5xx | drop | latency | error | lost (the call is applied, then the answer
        # is dropped with the connection, so the client retries an applied call)
        self.kind = spec.get("kind", "throttle")
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
        self.checks = Checks()

    # ---------------------------------------------------------------- WSGI entry
    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith(CONTROL):
            return self.control(environ, start_response, path[len(CONTROL):])
        body = _read_body(environ)
        service, region, action, params = calls.classify(environ, body)
        if path.startswith("/moto-api"):
            if path == "/moto-api/reset":
                from . import fidelity

                fidelity.reset()
            return self.moto_app(environ, start_response)
        fault = self.record(service, region, action, params)
        delay = self.latency_ms + (fault.latency_ms if fault else 0)
        if delay:
            time.sleep(delay / 1000)
        if fault and fault.kind == "lost":
            _drain(self.serve(environ, lambda *a, **k: None, body, service, region, action))
            return _drop(environ, start_response)
        if fault and fault.kind != "latency":
            if fault.forward:
                _drain(self.serve(environ, lambda *a, **k: None, body, service, region, action))
            return _fault_response(fault, environ, service, start_response)
        return self.serve(environ, start_response, body, service, region, action)

    def serve(self, environ, start_response, body, service, region, action):
        """What AWS does with the request: refuse it (its model, its documented limits) or
        route it to the layer's own services or to moto."""
        refused = self.checks.refuse(environ, body, service, region, action)
        if refused is not None:
            status, headers, data = refused
            start_response(status, headers)
            return [data]
        handler = self.routes.get(service)
        if handler is not None:
            return handler(environ, start_response, body, region, action)
        return self.moto_app(environ, start_response)

    def record(self, service, region, action, params):
        with self.lock:
            self.log.append(
                {
                    "seq": len(self.log) + 1,
                    "t": time.time(),
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
        query = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
        if what == "validation":
            try:
                if method == "POST":
                    self.checks.configure(json.loads(_read_body(environ) or b"{}"))
            except (BadControl, ValueError) as e:
                return _json(start_response, {"error": str(e)}, "400 Bad Request")
            return _json(start_response, self.checks.described())
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
    if isinstance(status, int):
        status = _STATUS.get(status, f"{status} Error")
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


_STATUS = {200: "200 OK", 400: "400 Bad Request", 404: "404 Not Found", 409: "409 Conflict"}


class Checks:
    """Model validation and the documented-limits table, each switchable (both on by default).

    STAGEHAND_EMULATOR_VALIDATION=report keeps every refusal in the list without refusing
    (a survey of a whole test suite); =off starts with both off.
    """

    KEYS = {"enabled", "limits"}

    def __init__(self):
        mode = os.environ.get("STAGEHAND_EMULATOR_VALIDATION", "on").lower()
        self.enabled = mode != "off"
        self.limits = mode != "off"
        self.report_only = mode == "report"
        self.log_path = os.environ.get("STAGEHAND_EMULATOR_VALIDATION_LOG")
        self.refusals = []
        self.lock = threading.Lock()

    def configure(self, spec):
        if not isinstance(spec, dict):
            raise BadControl("the body must be an object")
        unknown = sorted(set(spec) - self.KEYS)
        if unknown:
            raise BadControl(f"unknown validation key(s) {', '.join(unknown)}; known: enabled, limits")
        for key in self.KEYS & set(spec):
            if not isinstance(spec[key], bool):
                raise BadControl(f"{key} must be true or false")
            setattr(self, key, spec[key])

    def described(self):
        with self.lock:
            return {"enabled": self.enabled, "limits": self.limits,
                    "report_only": self.report_only, "refusals": list(self.refusals)}

    def refuse(self, environ, body, service, region, action):
        """(status, headers, body) of AWS's refusal of this request, or None to serve it."""
        if not (self.enabled or self.limits) or service == "unknown":
            return None
        from . import limits, validation

        try:
            request = validation.Request(environ, body, service, action)
            if request.operation is None:
                return None
            parsed = request.parse()
        except Exception:  # noqa: BLE001 - what cannot be decoded is left to the service
            return None
        refusal, kind = None, None
        if self.enabled:
            found = validation.violations(request, parsed)
            if found:
                refusal, kind = validation.refusal(request, found), "model"
        if refusal is None and self.limits:
            try:
                limits.check(request, parsed, limits.account_of(environ), region or "us-east-1")
            except validation.Refusal as e:
                refusal, kind = e, "limit"
        if refusal is None:
            return None
        entry = {"service": service, "action": request.operation.name, "kind": kind,
                 "code": refusal.code, "message": refusal.message}
        with self.lock:
            self.refusals.append(entry)
            if self.log_path:
                with open(self.log_path, "a") as f:
                    f.write(json.dumps(entry) + "\n")
        if self.report_only:
            return None
        return validation.render(refusal, request.protocol, request.service, environ.get("CONTENT_TYPE"))


def _drop(environ, start_response):
    """Close the connection without an answer (the client sees a transport error)."""
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        try:
            import socket

            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    start_response("500 Internal Server Error", [("Content-Length", "0")])
    return [b""]


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
        return _drop(environ, start_response)
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
