"""Every AWS request checked against the service's own model before it is routed.

AWS refuses a request whose input breaks its model: a required member missing, a string too
short or too long or not matching its pattern (matched against the whole value), a number
out of range, a value outside its enum, a list or map of the wrong size. moto accepts almost
all of these, so a tool could pass every test and fail on a real account. Here each request
is decoded with moto's own protocol parsers against botocore's model of the service
(models.py) and refused as the service refuses it: its own error code, in its protocol's
format, with AWS's "N validation errors detected: Value '...' at '...' failed to satisfy
constraint: ..." message (EC2 and RDS word theirs differently; so do these).

POST /_stagehand/validation {"enabled": false} turns the check off for a test that needs
moto's laxer behaviour; {"enabled": true} on again (the default). Every refusal is kept and
listed by GET /_stagehand/validation, so a test can assert a whole run made none. The
environment variable STAGEHAND_EMULATOR_VALIDATION=report logs refusals without refusing
(to survey a whole test suite in one run); STAGEHAND_EMULATOR_VALIDATION_LOG=FILE appends
each one to FILE as a JSON line.
"""

import json
import re
from urllib.parse import parse_qsl

from werkzeug.datastructures import EnvironHeaders, MultiDict

from . import models

try:  # Java's \p{L} and friends; part of the pinned environment (cfn-lint needs it)
    import regex as _re
except ImportError:  # pragma: no cover - then patterns with \p{..} are skipped
    _re = re

# The error code each service answers a model violation with: (missing, invalid).
# Query-protocol services built on AWS's common framework answer ValidationError, JSON ones
# ValidationException, unless the service has its own (observed in AWS's answers quoted in
# public bug reports: IAM/STS "ValidationError", Cloud Map "InvalidInput", Secrets Manager
# and SSM "ValidationException", ECR and CloudWatch Logs "InvalidParameterException").
ERROR_CODES = {
    "ec2": ("MissingParameter", "InvalidParameterValue"),
    "rds": ("InvalidParameterValue", "InvalidParameterValue"),
    "servicediscovery": ("InvalidInput", "InvalidInput"),
    "codebuild": ("InvalidInputException", "InvalidInputException"),
    "logs": ("InvalidParameterException", "InvalidParameterException"),
    "ecr": ("InvalidParameterException", "InvalidParameterException"),
    "ecs": ("InvalidParameterException", "InvalidParameterException"),
    "s3": ("InvalidArgument", "InvalidArgument"),
}
DEFAULT_CODES = {
    "ec2": ("MissingParameter", "InvalidParameterValue"),
    "query": ("ValidationError", "ValidationError"),
    "json": ("ValidationException", "ValidationException"),
    "rest-json": ("ValidationException", "ValidationException"),
    "rest-xml": ("InvalidArgument", "InvalidArgument"),
}


class Refusal(Exception):
    """An AWS error answer: code, message, HTTP status, in the request's protocol."""

    def __init__(self, code, message, status=400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


class Request:
    """One AWS request, decoded enough to find its service and operation."""

    def __init__(self, environ, body, signing_name, action=None):
        self.environ = environ
        self.body = body
        self.signing_name = signing_name
        self.method = environ.get("REQUEST_METHOD", "GET").upper()
        self.path = environ.get("PATH_INFO", "") or "/"
        self.query = MultiDict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
        self.headers = EnvironHeaders(environ)
        self.content_type = (environ.get("CONTENT_TYPE") or "").lower()
        self.target = environ.get("HTTP_X_AMZ_TARGET")
        self.values = MultiDict(self.query)
        if "x-www-form-urlencoded" in self.content_type or (
            body and not self.target and body[:7] == b"Action="
        ):
            self.values.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        self.action = action  # the layer's classification (calls.py)
        self.service = models.service_for(signing_name, self.values)
        self.model = models.service_model(self.service)
        self.protocol = None
        self.operation = None
        self.url_params = {}
        if self.model is not None:
            self._find_operation()

    def _find_operation(self):
        protocol = self.model.protocol
        name = None
        if self.target:
            name, protocol = self.target.split(".")[-1], "json"
        elif "Action" in self.values:
            name = self.values.get("Action")
            protocol = "ec2" if protocol == "ec2" else "query"
        elif protocol == "rest-xml" and self.action in self.model.operation_names:
            # S3 operations share URIs (DeleteObject and AbortMultipartUpload, DELETE
            # /{Bucket}/{Key+}); the layer's classification tells them apart.
            name = self.action
            self._match_uri(only=name)
        elif protocol in ("rest-json", "rest-xml"):
            name = self._match_uri()
        if protocol not in ("ec2", "query", "json", "rest-json", "rest-xml"):
            return  # e.g. a CBOR request: not decoded here
        if name and name in self.model.operation_names:
            self.protocol = protocol
            self.operation = self.model.operation_model(name)

    def _match_uri(self, only=None):
        best, best_score = None, -1
        for name in [only] if only else self.model.operation_names:
            http = self.model.operation_model(name).http
            if http.get("method", "").upper() != self.method:
                continue
            matched = _match_template(http.get("requestUri", "/"), self.path, self.query)
            if matched is None:
                continue
            score, params = matched
            if self.model.operation_model(name).deprecated:
                score -= 1  # S3's PutBucketLifecycle shares its URI with the current operation
            if score > best_score:
                best, best_score, self.url_params = name, score, params
        if self.service == "s3" and best == "PutObject" and "x-amz-copy-source" in self.headers:
            best = "CopyObject"
        return best

    def parse(self):
        """The operation's input as moto's parsers decode it (member names as in the model)."""
        from moto.core.parse import PROTOCOL_PARSERS

        parser = PROTOCOL_PARSERS[self.protocol](self.operation)
        return parser.parse(
            {
                "method": self.method,
                "values": self.values,
                "headers": self.headers,
                "body": self.body,
                "url_path": self.path,
                "url_params": self.url_params,
            }
        )


_TEMPLATES = {}


def _match_template(request_uri, path, query):
    """(score, uri labels) when `path`+`query` fit the operation's requestUri, else None."""
    compiled = _TEMPLATES.get(request_uri)
    if compiled is None:
        tpl_path, _, tpl_query = request_uri.partition("?")
        parts = []
        for piece in re.split(r"(\{[^}]+\})", tpl_path):
            if piece.startswith("{"):
                label = piece[1:-1]
                greedy = label.endswith("+")
                label = label.rstrip("+")
                parts.append(f"(?P<{re.sub(r'[^A-Za-z0-9_]', '_', label)}>{'.+' if greedy else '[^/]+'})")
            else:
                parts.append(re.escape(piece))
        wanted = [q.partition("=") for q in tpl_query.split("&") if q]
        compiled = (re.compile("^" + "".join(parts).rstrip("/") + "/?$"), wanted, len(tpl_path))
        _TEMPLATES[request_uri] = compiled
    regexp, wanted, length = compiled
    m = regexp.match(path)
    if m is None:
        return None
    for key, eq, value in wanted:
        if key not in query or (eq and query.get(key) != value):
            return None
    return length + 100 * len(wanted), m.groupdict()


# ------------------------------------------------------------------ constraint checks
class Violation:
    def __init__(self, path, value, constraint, sensitive=False, missing=False):
        self.path, self.value, self.constraint = path, value, constraint
        self.sensitive, self.missing = sensitive, missing

    def coral(self):
        if self.missing:
            return f"Value null at '{self.path}' failed to satisfy constraint: {self.constraint}"
        if self.sensitive:
            return f"Value at '{self.path}' failed to satisfy constraint: {self.constraint}"
        return f"Value '{_show(self.value)}' at '{self.path}' failed to satisfy constraint: {self.constraint}"


def _show(value):
    if isinstance(value, bytes):
        return "<binary>"
    if isinstance(value, (list, dict)):
        return json.dumps(value, default=str)[:200]
    return str(value)


_PATTERNS = {}


def compile_pattern(pattern):
    """AWS's (Java) pattern as a Python regex for a whole-value match; None if untranslatable."""
    if pattern in _PATTERNS:
        return _PATTERNS[pattern]
    text = re.sub(
        r"\\u(D[89ABab][0-9A-Fa-f]{2})\\u(D[C-Fc-f][0-9A-Fa-f]{2})",
        lambda m: "\\U%08X" % (0x10000 + ((int(m.group(1), 16) - 0xD800) << 10) + int(m.group(2), 16) - 0xDC00),
        pattern,
    ).replace("\\z", "\\Z")
    try:
        compiled = _re.compile(text)
    except Exception:  # noqa: BLE001 - a pattern we cannot read is not enforced
        compiled = None
    _PATTERNS[pattern] = compiled
    return compiled


def _length(value):
    if isinstance(value, str):
        return len(value.encode("utf-16-le")) // 2  # Java counts UTF-16 code units
    return len(value)


def _camel(name):
    return name[:1].lower() + name[1:]


def check(shape, value, path, out, ec2=False):
    """Append to `out` each way `value` breaks `shape`'s constraints. Paths name members as
    AWS's messages do (camelCase member names; EC2's wire names with ec2=True)."""
    kind = shape.type_name
    meta = shape.metadata
    sensitive = bool(meta.get("sensitive"))
    if kind == "structure":
        if meta.get("document") or not isinstance(value, dict):
            return
        for name in shape.required_members:
            if value.get(name) is None:
                label = _label(shape.members[name], name, ec2)
                out.append(Violation(_join(path, label), None, "Member must not be null", missing=True))
        for name, member in shape.members.items():
            if value.get(name) is not None:
                check(member, value[name], _join(path, _label(member, name, ec2)), out, ec2)
        return
    if kind == "list":
        if not isinstance(value, list):
            return
        _size(meta, len(value), path, value, out, sensitive)
        for i, item in enumerate(value, 1):
            if item is not None:
                check(shape.member, item, f"{path}.{i}.member", out, ec2)
        return
    if kind == "map":
        if not isinstance(value, dict):
            return
        _size(meta, len(value), path, value, out, sensitive)
        for k, v in value.items():
            inner = []
            check(shape.key, k, path, inner)
            if inner:
                out.append(Violation(path, value, "Map keys must satisfy constraint: ["
                                     + ", ".join(i.constraint for i in inner) + "]", sensitive))
            inner = []
            if v is not None:
                check(shape.value, v, path, inner)
            if inner:
                out.append(Violation(path, value, "Map value must satisfy constraint: ["
                                     + ", ".join(i.constraint for i in inner) + "]", sensitive))
        return
    if kind == "string":
        if not isinstance(value, str):
            return
        enum = meta.get("enum")
        if enum and value not in enum:
            out.append(Violation(path, value, f"Member must satisfy enum value set: [{', '.join(enum)}]", sensitive))
        _size(meta, _length(value), path, value, out, sensitive)
        pattern = meta.get("pattern")
        if pattern:
            compiled = compile_pattern(pattern)
            if compiled is not None and compiled.fullmatch(value) is None:
                out.append(Violation(path, value, f"Member must satisfy regular expression pattern: {pattern}", sensitive))
        return
    if kind in ("integer", "long", "float", "double", "short", "byte"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return
        if "min" in meta and value < meta["min"]:
            out.append(Violation(path, value, f"Member must have value greater than or equal to {_num(meta['min'])}", sensitive))
        if "max" in meta and value > meta["max"]:
            out.append(Violation(path, value, f"Member must have value less than or equal to {_num(meta['max'])}", sensitive))
        return
    if kind == "blob" and isinstance(value, (bytes, str)):
        _size(meta, len(value), path, value, out, True)


def _num(n):
    return int(n) if float(n).is_integer() else n


def _size(meta, size, path, value, out, sensitive):
    if "min" in meta and size < meta["min"]:
        out.append(Violation(path, value, f"Member must have length greater than or equal to {_num(meta['min'])}", sensitive))
    if "max" in meta and size > meta["max"]:
        out.append(Violation(path, value, f"Member must have length less than or equal to {_num(meta['max'])}", sensitive))


def _label(member, name, ec2):
    if ec2:
        ser = member.serialization
        return ser.get("queryName") or (ser["name"][:1].upper() + ser["name"][1:] if "name" in ser else name)
    return name


def _join(path, name):
    return f"{path}.{_camel(name)}" if path else _camel(name)


def violations(request, parsed):
    out = []
    shape = request.operation.input_shape
    if shape is not None:
        check(shape, parsed, "", out, ec2=request.protocol == "ec2")
    return out


def refusal(request, found):
    """The service's own answer to the violations `found`."""
    codes = ERROR_CODES.get(request.service) or DEFAULT_CODES.get(request.protocol, DEFAULT_CODES["json"])
    first = found[0]
    if request.service == "ec2":
        if first.missing:
            return Refusal(codes[0], f"The request must contain the parameter {_pascal(first.path)}")
        shown = "" if first.sensitive else f"({_show(first.value)}) "
        return Refusal(codes[1], f"Value {shown}for parameter {_pascal(first.path)} is invalid. {first.constraint}")
    if request.service == "rds" and first.missing:
        return Refusal(codes[0], f"The parameter {_pascal(first.path)} must be provided and must not be blank.")
    count = len(found)
    noun = "validation error" if count == 1 else "validation errors"
    message = f"{count} {noun} detected: " + "; ".join(v.coral() for v in found)
    return Refusal(codes[0] if all(v.missing for v in found) else codes[1], message)


def _pascal(path):
    return ".".join(p[:1].upper() + p[1:] for p in path.split(".") if p != "member")


# ------------------------------------------------------------------ answers
def render(refusal_, protocol, service, content_type=None):
    """(status line, headers, body) of an error answer in `protocol`'s format."""
    from xml.sax.saxutils import escape

    code, message = refusal_.code, refusal_.message
    status = {400: "400 Bad Request", 403: "403 Forbidden", 404: "404 Not Found",
              409: "409 Conflict"}.get(refusal_.status, f"{refusal_.status} Error")
    if protocol == "ec2":
        body = (f"<Response><Errors><Error><Code>{code}</Code><Message>{escape(message)}</Message>"
                f"</Error></Errors><RequestID>stagehand-validation</RequestID></Response>")
        ctype = "text/xml"
    elif protocol == "query":
        body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>"
                f"{escape(message)}</Message></Error><RequestId>stagehand-validation</RequestId>"
                f"</ErrorResponse>")
        ctype = "text/xml"
    elif protocol == "rest-xml":
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>'
                f"{escape(message)}</Message><RequestId>stagehand-validation</RequestId></Error>")
        ctype = "application/xml"
    else:
        body = json.dumps({"__type": code, "message": message})
        ctype = content_type if protocol == "json" and content_type else "application/x-amz-json-1.1"
        if protocol == "rest-json":
            ctype = "application/json"
    data = body.encode()
    headers = [("Content-Type", ctype), ("Content-Length", str(len(data))),
               ("x-amzn-ErrorType", code), ("x-amzn-RequestId", "stagehand-validation")]
    return status, headers, data
