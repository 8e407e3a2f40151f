"""IAM: service-linked roles carry the names AWS gives them, and are not usable at once.

moto derives the name from the service principal (AWSServiceRoleForcodestar-notifications);
AWS uses a fixed name per service. Both put the role under /aws-service-role/<principal>/.

A new service-linked role takes a while before its service can assume it: ECS CreateCluster
with capacity providers fails ("Unable to assume the service linked role"), and CodeStar
Notifications refuses rules for up to 15 minutes. POST /_stagehand/holds {"slr_lag_s": 5}
makes each role created after the call lag that long (default 0: usable at once);
`lagging(account, principal)` tells the service modules whether it still does.

CodeStar Notifications' role lags longest on AWS (up to 15 minutes, where ECS's is usually
seconds): {"codestar_slr_lag_s": 10} makes its new role lag that long when longer than
slr_lag_s (default 0: slr_lag_s alone). Lowering a hold shortens the lag of roles already
made (never lengthens it), so a test can end a long lag once it has seen a tool wait.
"""

import threading
import time

from moto.iam import exceptions, models

from . import holds

HOLD_KEY = "slr_lag_s"
holds.register(HOLD_KEY, "a new service-linked role cannot be assumed by its service yet "
               "(ECS capacity providers, CodeStar Notifications rules fail)")
CODESTAR_KEY = "codestar_slr_lag_s"
CODESTAR_PRINCIPAL = "codestar-notifications.amazonaws.com"
holds.register(CODESTAR_KEY, "a new CodeStar Notifications service-linked role lags this long "
               "when longer than slr_lag_s (AWS: up to 15 minutes)")
_lock = threading.Lock()
_created = {}  # (account, service principal) -> (monotonic time, lag in force then)


def _lag(principal):
    """The lag in force now for a new role of `principal`."""
    lag = holds.seconds(HOLD_KEY)
    if principal == CODESTAR_PRINCIPAL:
        lag = max(lag, holds.seconds(CODESTAR_KEY))
    return lag


def lagging(account, principal):
    """True while the service-linked role for `principal` is too new for its service to use."""
    with _lock:
        born = _created.get((account, principal))
    if born is None:
        return False
    # A hold lowered since the role was made shortens its lag.
    return time.monotonic() - born[0] < min(born[1], _lag(principal))


def reset():
    with _lock:
        _created.clear()

AWS_SLR_NAMES = {
    "codestar-notifications.amazonaws.com": "AWSServiceRoleForCodeStarNotifications",
    "ecs.amazonaws.com": "AWSServiceRoleForECS",
    "elasticloadbalancing.amazonaws.com": "AWSServiceRoleForElasticLoadBalancing",
    "rds.amazonaws.com": "AWSServiceRoleForRDS",
    "autoscaling.amazonaws.com": "AWSServiceRoleForAutoScaling",
    "ecs.application-autoscaling.amazonaws.com": "AWSServiceRoleForApplicationAutoScaling_ECSService",
}


def install():
    original = models.IAMBackend.create_service_linked_role

    def create_service_linked_role(self, service_name, description, suffix):
        name = AWS_SLR_NAMES.get(service_name)
        if name is None:
            role = original(self, service_name, description, suffix)
            with _lock:
                _created[(self.account_id, service_name)] = (time.monotonic(), _lag(service_name))
            return role
        if suffix:
            name = f"{name}_{suffix}"
        # AWS: "Service role name AWSServiceRoleForECS has been taken in this account".
        if name in [r.name for r in self.roles.values()]:
            raise exceptions.InvalidInput(
                f"Service role name {name} has been taken in this account, please try a different suffix.",
            )
        policy = (
            '{"Version": "2012-10-17", "Statement": [{"Action": ["sts:AssumeRole"], '
            f'"Effect": "Allow", "Principal": {{"Service": ["{service_name}"]}}}}]}}'
        )
        role = self.create_role(
            name, policy, f"/aws-service-role/{service_name}/",
            permissions_boundary=None, description=description, tags=[],
            max_session_duration="3600", linked_service=service_name,
        )
        with _lock:
            _created[(self.account_id, service_name)] = (time.monotonic(), _lag(service_name))
        return role

    models.IAMBackend.create_service_linked_role = create_service_linked_role
