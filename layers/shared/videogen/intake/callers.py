"""Who owns a job, and which jobs a caller may see.

Every job record carries ``owner``, one string per principal:

- API with ``ApiAuth=IAM``: the SigV4 principal API Gateway verified (``requestContext.identity.userArn``),
  normalised: an assumed-role session ``arn:aws:sts::<acct>:assumed-role/<role>/<session>`` becomes the role
  ``arn:aws:iam::<acct>:role/<role>``; IAM users, the account root and federated users are kept as they are.
- API with ``ApiAuth=API_KEY``: the id of the API key API Gateway checked
  (``requestContext.identity.apiKeyId``).
- S3 trigger: the bucket the file was dropped in, ``s3://<bucket>``.

Why the role and not the session: a session name is chosen by whoever assumes the role and changes with every
ECS task, EC2 instance or SSO login, so a backend's jobs would vanish from its own view after a restart. The
role is what IAM grants ``execute-api:Invoke`` to. Callers who must not see each other's jobs need distinct
roles (or users, or API keys). The role's path is not part of a session ARN, so it is dropped from role ARNs
everywhere (``arn:aws:iam::1:role/team/r`` and ``arn:aws:iam::1:role/r`` are the same owner).

Only the identity verified under the configured ``ApiAuth`` counts: with API keys a request's SigV4 fields
are not checked by API Gateway and are ignored; with IAM a sent ``x-api-key`` is ignored.

Admins (``AdminPrincipals``: ARNs and/or API key ids, normalised the same way) see and act on every job.
Everyone else sees only jobs whose ``owner`` is theirs; a record without one (written before owners were
recorded) is visible to admins only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from videogen.core.errors import CallerNotIdentified

ApiAuth = Literal["IAM", "API_KEY"]

_ASSUMED_ROLE = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):sts::(?P<account>\d{12}):assumed-role/(?P<role>[^/]+)/.+$"
)
_ROLE = re.compile(r"^arn:(?P<partition>aws[a-z-]*):iam::(?P<account>\d{12}):role/(?:.*/)?(?P<role>[^/]+)$")


def principal_owner(arn: str) -> str:
    """The owner of a verified IAM principal ARN: assumed-role sessions and role paths become the role."""
    arn = arn.strip()
    match = _ASSUMED_ROLE.match(arn) or _ROLE.match(arn)
    if match:
        return f"arn:{match['partition']}:iam::{match['account']}:role/{match['role']}"
    return arn


def bucket_owner(bucket: str) -> str:
    """The owner of a job started by a file dropped in ``bucket``."""
    return f"s3://{bucket}"


def admin_owners(principals: Iterable[str]) -> frozenset[str]:
    """The owners named by the ``AdminPrincipals`` entries (ARNs normalised, API key ids as given)."""
    names = (p.strip() for p in principals)
    return frozenset(principal_owner(p) if p.startswith("arn:") else p for p in names if p)


@dataclass(frozen=True)
class Caller:
    """An API caller: the owner it creates jobs as, and whether it may see everyone's."""

    owner: str
    admin: bool = False

    @property
    def scope(self) -> str | None:
        """The only owner whose jobs this caller sees; None: every job (an admin)."""
        return None if self.admin else self.owner


def api_caller(
    *, auth: ApiAuth, user_arn: str | None, api_key_id: str | None, admins: frozenset[str] = frozenset()
) -> Caller:
    """The caller of an API request from the identity API Gateway verified under ``auth``.

    Raises CallerNotIdentified when that identity is missing (API Gateway always sets it on an
    authenticated request, so this means a misconfigured front or a local call without one).
    """
    if auth == "API_KEY":
        if not api_key_id:
            raise CallerNotIdentified("the request carries no API key id; send the x-api-key header")
        owner = api_key_id.strip()
    else:
        if not user_arn:
            raise CallerNotIdentified("the request carries no IAM principal; sign it with SigV4")
        owner = principal_owner(user_arn)
    return Caller(owner=owner, admin=owner in admins)
