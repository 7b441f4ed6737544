"""A strict model of AWS Secrets Manager in front of LocalStack: what AWS does and LocalStack does not.

Every client, in any language, reaches it through ``AWS_ENDPOINT_URL``; it forwards to LocalStack and
changes the answers the way AWS would (each behaviour switchable, every draw from one seeded RNG):

- ``--lag S``: filtered ``ListSecrets`` and filtered ``BatchGetSecretValue`` answer from the past, the
  state of ``lag`` seconds ago with ``lag`` drawn per request in ``[--lag-floor, S]`` (so a later read may
  see an older state), and tag changes lagging separately (``--tag-lag``) from creates and deletes.
  Reads by name (``GetSecretValue``, ``DescribeSecret``, ``BatchGetSecretValue`` by id) stay current.
  Only secrets created through this proxy are known to it, as with any listing lag model.
- ``--uneven-pages``: every paged answer (``ListSecrets``, filtered ``BatchGetSecretValue``) comes in pages
  of random size, empty ones included, each with a ``NextToken`` until the last; with
  ``--empty-first-pages`` every listing's first page is empty.
- ``--version-quota N`` and ``--version-window S``: AWS prunes old versions only beyond 100 and never one
  younger than 24 hours, so the N+1st value write (``CreateSecret`` with a value, ``PutSecretValue``,
  ``UpdateSecret`` with a value) to one secret within S seconds fails with ``LimitExceededException``. A
  retry with the same ``ClientRequestToken`` makes no version, as on AWS.
- ``--deny-read RE`` and ``--decryption-failure RE``: secrets whose name matches are listed but cannot be
  read: ``GetSecretValue`` fails, and ``BatchGetSecretValue`` reports them in ``Errors[]``
  (``AccessDeniedException``, ``DecryptionFailure``) while the call succeeds.
- writes to a secret scheduled for deletion are refused (``InvalidRequestException``), and
  ``CreateSecret`` is exclusive (of concurrent creates of one name exactly one wins), as on AWS.
- ``--throttle P``: each Secrets Manager request is refused with ``ThrottlingException`` with
  probability P.

``GET /_strict/stats`` returns what it did (lagged answers, pages, refusals), the versions each
secret holds within the window, every version ever written per secret name, and the requests it
received per operation (``calls``). ``POST /_strict/advance`` with ``{"seconds": S}`` moves the
model's time on by S (listings then show what they would S seconds later). Other services (KMS, STS) pass through untouched.

Files, one concern each: ``options`` (the command line), ``state`` (what the model knows, its
clock), ``listings`` (lag), ``pages``, ``versions`` (the quota), ``deletion``, ``throttling``, ``filters``,
``model`` (them together); ``upstream`` (LocalStack), ``writes``, ``reads``, ``listed``, ``proxy`` (one
request), ``server`` (HTTP), ``control`` (stats, advance), ``__main__``.

Usage: ``strict-aws --upstream http://127.0.0.1:4566 --port 0 --lag 300 --seed 1``; the first line on
standard output is ``strict-aws: listening on http://127.0.0.1:PORT``.
"""

from .filters import matches
from .model import Model
from .options import Options, parse

__all__ = ["Model", "Options", "matches", "parse"]
