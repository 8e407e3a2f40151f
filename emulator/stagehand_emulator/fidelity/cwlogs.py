"""Writing CloudWatch Logs events on behalf of AWS services (CodeBuild, the awslogs driver),
straight into moto's logs backend."""

import time

from moto.logs.exceptions import ResourceAlreadyExistsException
from moto.logs.models import logs_backends


def group_exists(account, region, group):
    return group in logs_backends[account][region].groups


def create_group(account, region, group):
    backend = logs_backends[account][region]
    if group not in backend.groups:
        backend.create_log_group(group, {})


def write(account, region, group, stream, lines):
    """Append `lines` to `group`/`stream` (the stream is made if needed); False without the group."""
    backend = logs_backends[account][region]
    if group not in backend.groups:
        return False
    try:
        backend.create_log_stream(group, stream)
    except ResourceAlreadyExistsException:
        pass
    base = int(time.time() * 1000)
    events = [{"timestamp": base + i, "message": line} for i, line in enumerate(lines)]
    if events:
        backend.put_log_events(group, stream, events)
    return True
