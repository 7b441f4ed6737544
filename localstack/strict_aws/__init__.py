"""A strict model of AWS Secrets Manager in front of LocalStack: what AWS does and LocalStack does not.

Every client, in any language, reaches it through ``AWS_ENDPOINT_URL``; it forwards to LocalStack and
changes the answers the way AWS would (each behaviour switchable, every draw from one seeded RNG):

- ``--lag S``: filtered ``ListSecrets`` and filtered ``BatchGetSecretValue`` answer from the past, the
  state of ``lag`` seconds ago with ``lag`` drawn per request in ``[--lag-floor, S]`` (so a later read may
  see an older state), and tag changes lagging separately (``--tag-lag``) from creates and deletes.
  ``--lag-tail-probability P``: now and then (probability P per draw) a lag past its bound, by up to
  ``--lag-tail`` seconds more (default: the bound again). Unfiltered ``ListSecrets`` lags too
  (LocalStack's list, with the secrets the model knows shown as they were; ``--no-unfiltered-lag``: as
  it is now).
  Reads by name (``GetSecretValue``, ``DescribeSecret``, ``BatchGetSecretValue`` by id) stay current.
  Only secrets created through this proxy are known to it, as with any listing lag model.
- a filtered ``BatchGetSecretValue`` that names a secret its lagged listing still shows but which is
  gone now reports it in ``Errors[]`` (``ResourceNotFoundException``, or ``InvalidRequestException`` while
  it is scheduled for deletion), as AWS does (on by default; ``--no-batch-deleted-errors`` leaves it out).
- ``--uneven-pages``: every paged answer (``ListSecrets``, filtered ``BatchGetSecretValue``) comes in pages
  of random size, empty ones included, each with a ``NextToken`` until the last; with
  ``--empty-first-pages`` every listing's first page is empty. A ``NextToken`` stays good after use, as
  AWS's does (a page request retried after a timeout is answered).
- ``--version-quota N`` and ``--version-window S``: the versions a secret holds, counted as AWS counts
  them: versions with a staging label (AWSCURRENT, AWSPREVIOUS, custom) are never pruned, unlabelled ones
  only beyond N and never one younger than S, so the N+1st value write (``CreateSecret`` with a value,
  ``PutSecretValue``, ``UpdateSecret`` with a value) to one secret within S seconds fails with
  ``LimitExceededException``, checked one write at a time per secret. A retry with the same
  ``ClientRequestToken`` makes no version, as on AWS. ``--version-count-writes``: the simpler count of
  value writes within S, labels ignored.
- ``CreateSecret`` retried with its ``ClientRequestToken`` and the same value returns the first answer
  (LocalStack refuses it as an existing secret); a token reused with another value is refused
  (``ResourceExistsException``) (on by default; ``--no-idempotent-creates`` forwards the retry as before).
- ``--deny-read RE`` and ``--decryption-failure RE``: secrets whose name matches are listed but cannot be
  read: ``GetSecretValue`` fails, and ``BatchGetSecretValue`` reports them in ``Errors[]``
  (``AccessDeniedException``, ``DecryptionFailure``) while the call succeeds.
- writes to a secret scheduled for deletion are refused (``InvalidRequestException``), and
  ``CreateSecret`` is exclusive (of concurrent creates of one name exactly one wins), as on AWS.
- ``--force-delete-delay S``: a forced delete (``ForceDeleteWithoutRecovery``) finishes S seconds later,
  as AWS's background deletion does: until then ``CreateSecret`` of the name fails ("already scheduled
  for deletion"), reads and writes fail as for a deleted secret, ``DescribeSecret`` shows its
  ``DeletedDate``.
- filters checked as AWS checks them (at most 10, 1 to 10 values each, up to 512 characters of AWS's
  alphabet; ``MaxResults`` in range): ``ValidationException`` or ``InvalidParameterException`` where
  LocalStack answers an empty listing (on by default; ``--no-validate-filters``).
- ``--throttle P``: each Secrets Manager request is refused with ``ThrottlingException`` with
  probability P. ``--rate-limits``: AWS's request rates per API family (reads 10,000 per second,
  ``ListSecrets`` and ``BatchGetSecretValue`` 100, value writes, tagging, creates and deletes 50, ...),
  a token bucket each on the model's clock, ``ThrottlingException`` past them; ``--rate-scale F``
  multiplies every rate.

``GET /_strict/stats`` returns what it did (lagged answers, pages, refusals), the versions each
secret holds, every version ever written per secret name, the requests it received per operation
(``calls``) and those refused past each family's rate. ``POST /_strict/advance`` with
``{"seconds": S}`` moves the model's time on by S (listings then show what they would S seconds later,
forced deletes finish, rate buckets refill). Other services (KMS, STS) pass through untouched.

Files, one concern each: ``options`` (the command line), ``state`` (what the model knows, its clock),
``listings`` (lag), ``pages``, ``versions`` (labels and the quota), ``deletion``, ``throttling``,
``filters`` (matching and validation), ``model`` (them together); ``forwarder`` (keep-alive HTTP,
model-free: deploy/iam_proxy.py forwards through it too), ``upstream`` (LocalStack), ``writes``, ``reads``,
``listed``, ``proxy`` (one request), ``server`` (HTTP), ``control`` (stats, advance), ``__main__``.

Usage: ``strict-aws --upstream http://127.0.0.1:4566 --port 0 --lag 300 --seed 1``; the first line on
standard output is ``strict-aws: listening on http://127.0.0.1:PORT``.
"""

from .filters import matches
from .model import Model
from .options import Options, parse

__all__ = ["Model", "Options", "matches", "parse"]
