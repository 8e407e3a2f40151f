"""Cloud Map: namespace operations, duplicates and deletions behave as AWS's do.

- A namespace operation (create, delete) is PENDING for a while before SUCCESS, and a
  namespace being created is not listed until its operation succeeds. POST
  /_stagehand/holds {"namespace_s": 2} sets how long (default 0: moto's instant behaviour).
- Creating a private DNS namespace whose name the VPC already has answers
  DuplicateRequest (with DuplicateOperationId) when it repeats the pending request's
  CreatorRequestId, else NamespaceAlreadyExists (with NamespaceId); moto answered
  ConflictingDomainExists, or made a second one.
- DeleteNamespace refuses while the namespace has services (ResourceInUse); moto deleted it
  and left the services dangling.
- ListServices honours the NAMESPACE_ID filter; moto listed every service of the account.
- CreateService refuses a second service of the same name in a namespace
  (ServiceAlreadyExists, with the existing service's CreatorRequestId and ServiceId), except
  that a request repeating the first one's CreatorRequestId (a retried create) returns the
  service it made; moto made a second service each time.
"""

import json
import time

from moto.core.exceptions import JsonRESTError
from moto.servicediscovery import models, responses
from moto.servicediscovery.exceptions import NamespaceNotFound

from . import holds

HOLD_KEY = "namespace_s"
holds.register(HOLD_KEY, "a Cloud Map namespace operation is PENDING after the create")


def _hold():
    return holds.seconds(HOLD_KEY)


class _Error(JsonRESTError):
    def __init__(self, code, message, **fields):
        super().__init__(code, message)
        self.description = json.dumps({"__type": code, "message": message, **fields})


def _get_status(self):
    stored = self.__dict__.get("_sh_status", "SUCCESS")
    if stored == "SUCCESS" and time.monotonic() - self.__dict__.get("_sh_born", 0) < self.__dict__.get(
        "_sh_hold", 0
    ):
        return "PENDING"
    return stored


def _set_status(self, value):
    if "_sh_status" not in self.__dict__:
        self.__dict__["_sh_born"] = time.monotonic()
        self.__dict__["_sh_hold"] = _hold()
    self.__dict__["_sh_status"] = value


def _creating(backend, namespace_id):
    """The create operation of a namespace while it is still pending, else None."""
    op = backend.__dict__.get("_sh_create_ops", {}).get(namespace_id)
    if op is not None and op.status != "SUCCESS":
        return op
    return None


def install():
    models.Operation.status = property(_get_status, _set_status)
    backend_cls = models.ServiceDiscoveryBackend

    original_create = backend_cls.create_private_dns_namespace

    def create_private_dns_namespace(self, name, creator_request_id, description, vpc, tags, properties):
        for ns in list(self.namespaces.values()):
            if ns.name == name and ns.vpc == vpc:
                pending = _creating(self, ns.id)
                if pending is not None and creator_request_id and creator_request_id == ns.creator_request_id:
                    raise _Error(
                        "DuplicateRequest",
                        "The operation is already in progress.",
                        DuplicateOperationId=pending.id,
                    )
                raise _Error(
                    "NamespaceAlreadyExists",
                    f"Namespace {name} already exists.",
                    NamespaceId=ns.id,
                    CreatorRequestId=ns.creator_request_id,
                )
        op_id = original_create(self, name, creator_request_id, description, vpc, tags, properties)
        op = self.operations[op_id]
        self.__dict__.setdefault("_sh_create_ops", {})[op.targets["NAMESPACE"]] = op
        return op_id

    backend_cls.create_private_dns_namespace = create_private_dns_namespace

    original_list = backend_cls.list_namespaces

    def list_namespaces(self):
        return [ns for ns in original_list(self) if _creating(self, ns.id) is None]

    backend_cls.list_namespaces = list_namespaces

    original_get = backend_cls.get_namespace

    def get_namespace(self, namespace_id):
        if namespace_id in self.namespaces and _creating(self, namespace_id) is not None:
            raise NamespaceNotFound(namespace_id)
        return original_get(self, namespace_id)

    backend_cls.get_namespace = get_namespace

    original_delete = backend_cls.delete_namespace

    def delete_namespace(self, namespace_id):
        users = [s.name for s in self.services.values() if s.namespace_id == namespace_id]
        if namespace_id in self.namespaces and users:
            raise _Error(
                "ResourceInUse",
                f"Namespace {namespace_id} has associated services: {', '.join(sorted(users))}",
            )
        return original_delete(self, namespace_id)

    backend_cls.delete_namespace = delete_namespace

    original_create_service = backend_cls.create_service

    def create_service(self, name, namespace_id, creator_request_id, *args, **kwargs):
        for svc in list(self.services.values()):
            if svc.name == name and svc.namespace_id == namespace_id:
                if creator_request_id and creator_request_id == svc.creator_request_id:
                    return svc
                raise _Error(
                    "ServiceAlreadyExists",
                    f"Service already exists. ServiceId: {svc.id}",
                    CreatorRequestId=svc.creator_request_id,
                    ServiceId=svc.id,
                    ServiceArn=svc.arn,
                )
        return original_create_service(self, name, namespace_id, creator_request_id, *args, **kwargs)

    backend_cls.create_service = create_service

    def list_services(self):
        params = json.loads(self.body or "{}")
        services = list(self.servicediscovery_backend.list_services())
        for f in params.get("Filters") or []:
            if f.get("Name") == "NAMESPACE_ID":
                wanted = set(f.get("Values") or [])
                services = [s for s in services if s.namespace_id in wanted]
        return json.dumps({"Services": [s.to_json() for s in services]})

    responses.ServiceDiscoveryResponse.list_services = list_services
