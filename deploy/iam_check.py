"""The IAM half of deploy/check-localstack: the store's operations run as each of the stack's roles through
the IAM proxy (deploy/iam_proxy.py), judged by the policies the roles have in LocalStack's IAM after the
deploy. Fails when a call is refused, and when a statement grants an action no call used.

- AppRole: deploy/drive_app.py (the example function with the environment the template gives it, then
  the Python store's operations) with the installed package and the Zoho SDK, against the strict Zoho
  mock; then, from tests/deploy.rs, the keyring re-check a process makes every five minutes.
- RotationRole: from tests/deploy.rs, the rotation handler's four steps on a token the operator imported.

tests/deploy.rs runs the Rust half when this prints `rust-leg: <json>`, and answers one line on stdin.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.parse
import uuid
import venv
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "deploy"))
sys.path.insert(0, str(ROOT / "zoho-mock"))

from iam_policy import statements  # noqa: E402
from iam_proxy import IamProxy, Logged, Role  # noqa: E402
from strict_zoho import StrictZoho  # noqa: E402

# The roles' access keys: the proxy tells the roles apart by them (LocalStack takes any key as its
# default account).
APP_KEY, ROTATION_KEY = "zts-deploy-app-role", "zts-deploy-rotation-role"
# The Zoho client the mock knows, and the parameters the functions would be deployed with.
CLIENT_ID, CLIENT_SECRET, REDIRECT = "1000.CLIENT", "client-secret", "https://app.example.com/callback"
USER = "ada@example.com"
# The refresh token of the token the operator imports for the rotation.
IMPORTED_REFRESH = "1000.refresh-deploy"


class Failed(Exception):
    pass


def check(condition: bool, what: str) -> None:
    if not condition:
        raise Failed(what)


@dataclass
class Deployed:
    """What check-localstack deployed, and the operator's CLI (`operator(*args)`, its stdout)."""

    endpoint: str
    stack: str
    template: dict
    outputs: dict
    prefix: str
    keyring: str
    account: str
    iam: Any
    secretsmanager: Any
    work: Path
    operator: Callable[..., str]


def document(raw: Any) -> dict:
    """A policy document as IAM returns it: a dict, or JSON (URL-encoded, as AWS's API has it)."""
    if isinstance(raw, dict):
        return raw
    return json.loads(urllib.parse.unquote(raw) if raw.lstrip().startswith("%") else raw)


def role_policies(iam, role_arn: str, names: dict[str, str]) -> Role:
    """A role's identity policies, as LocalStack's IAM holds them: its managed policies (named by the
    template's logical names, `names` mapping their ARNs) and its inline ones (`inline:<name>`)."""
    role = role_arn.rsplit("/", 1)[1]
    documents = {}
    for attached in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]:
        arn = attached["PolicyArn"]
        version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        raw = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
        documents[names.get(arn, attached["PolicyName"])] = document(raw)
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        documents[f"inline:{name}"] = document(iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"])
    return Role(role, documents)


def function_environment(template: dict, values: dict[str, str], attributes: dict[tuple[str, str], str],
                         zoho: StrictZoho) -> dict[str, str]:
    """ExampleFunction's environment as the template gives it (Globals, then its own), `Ref`s and `GetAtt`s
    resolved from the deploy; the mock Zoho stands for the data centre's URLs."""
    variables = {**template["Globals"]["Function"]["Environment"]["Variables"],
                 **template["Resources"]["ExampleFunction"]["Properties"]["Environment"]["Variables"]}
    resolved = {}
    for name, value in variables.items():
        if name == "ZOHO_API_URL":
            resolved[name] = zoho.url
        elif name == "ZOHO_ACCOUNTS_URL":
            resolved[name] = zoho.accounts_url
        elif isinstance(value, str):
            resolved[name] = value
        elif "Ref" in value and value["Ref"] in values:
            resolved[name] = values[value["Ref"]]
        elif "Fn::GetAtt" in value:
            at = value["Fn::GetAtt"]
            at = tuple(at.split(".", 1)) if isinstance(at, str) else tuple(at)
            check(at in attributes, f"ExampleFunction's {name}: no value for GetAtt {at}")
            resolved[name] = attributes[at]
        else:
            raise Failed(f"ExampleFunction's {name}: cannot resolve {value}")
    return resolved


def store_python(work: Path) -> str:
    """A Python with the package and the Zoho SDK: ZOHO_TOKEN_STORE_WHEEL installed into a fresh virtual
    environment (as python/run-tests tests a wheel), else the one python/run-tests installs into."""
    wheel = os.environ.get("ZOHO_TOKEN_STORE_WHEEL")
    if wheel:
        target = work / "store-venv"
        venv.create(target, with_pip=True)
        python = str(target / "bin" / "python")
        began = time.monotonic()
        done = subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                               "--only-binary", ":all:", f"{wheel}[sdk]"], capture_output=True, text=True)
        check(done.returncode == 0, f"pip install {wheel}[sdk] failed:\n{done.stdout}{done.stderr}")
        print(f"installed {Path(wheel).name} with the Zoho SDK in {time.monotonic() - began:.1f} s")
        return python
    python = str(Path(os.environ.get("ZOHO_TOKEN_STORE_VENV", ROOT / "python" / ".venv")) / "bin" / "python")
    done = subprocess.run([python, "-c", "import zoho_token_store, zohocrmsdk"], capture_output=True, text=True,
                          cwd=work) if Path(python).exists() else None
    check(done is not None and done.returncode == 0,
          f"{python} has no zoho_token_store with the Zoho SDK: run python/run-tests once (it installs both), "
          f"or set ZOHO_TOKEN_STORE_WHEEL to a wheel ({done.stderr.strip() if done else 'no such interpreter'})")
    return python


def run_app(d: Deployed, proxy: IamProxy, zoho: StrictZoho, python: str) -> dict:
    """deploy/drive_app.py as AppRole; its findings."""
    grant = zoho.grant()
    values = {"TokenPrefix": d.prefix, "KeyringSecretName": d.keyring, "ZohoClientId": CLIENT_ID,
              "ZohoClientSecret": CLIENT_SECRET, "ZohoRedirectUrl": REDIRECT, "ZohoGrantToken": grant,
              "ZohoDataCenter": "us"}
    environment = function_environment(d.template, values, {("KeyringKey", "Arn"): d.outputs["KeyringKeyArn"]}, zoho)
    # Nothing of this process's AWS or Zoho settings: only the function's environment and the role's keys.
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ZOHO_"))}
    env = {**base, **environment, "AWS_ENDPOINT_URL": proxy.url, "AWS_REGION": "us-east-1",
           "AWS_ACCESS_KEY_ID": APP_KEY, "AWS_SECRET_ACCESS_KEY": "not-checked", "AWS_MAX_ATTEMPTS": "6",
           "ZTS_ADMIN_ENDPOINT": d.endpoint}
    began = time.monotonic()
    done = subprocess.run([python, str(ROOT / "deploy" / "drive_app.py")], env=env, cwd=d.work,
                          capture_output=True, text=True, timeout=300)
    said = done.stderr.strip()[-2000:] or "it went on"
    # A refusal fails the check whatever the app made of it (the store carries on past some, such as a
    # save it retries later), so refusals come first.
    check(not refused(proxy), f"as AppRole the app was refused:{refused(proxy)}\n(the app: {said})")
    check(done.returncode == 0, f"the app's run as AppRole failed: {said}")
    found = json.loads(done.stdout.strip().splitlines()[-1])
    token_id = found["tokens"][0][0] if found["tokens"] else None
    check(found["invocation"].get("statusCode") == 200, f"the example's invocation answered {found['invocation']}")
    check(len(found["tokens"]) == 1 and found["tokens"][0][1].startswith(USER), f"stored tokens: {found['tokens']}")
    check(found["found_by"] == {"refresh_token": token_id, "user": token_id}, f"lookups found {found['found_by']}")
    check(found["refreshed"]["new_access_token"] and found["refreshed"]["seconds_left"] > 60,
          f"the refresh ahead of expiry: {found['refreshed']}")
    check(found["restored"]["same_id"] and found["restored"]["found"], f"the sign-in after a delete: {found['restored']}")
    check(found["left"] == 0, f"delete_tokens left {found['left']} tokens")
    check(zoho.exchanges == [grant], f"the grant was exchanged {len(zoho.exchanges)} times: {zoho.exchanges}")
    check(len(zoho.refreshes) == 1, f"the refresh ahead reached Zoho {len(zoho.refreshes)} times")
    print(f"as AppRole ({time.monotonic() - began:.1f} s): the example's cold start exchanged the grant once and "
          f"saved {token_id}; an invocation called the CRM; the store listed it, found it by refresh token and "
          f"by user, refreshed it ahead of expiry taking over a dead process's lease, deleted it (7-day recovery), "
          f"restored it at the user's next sign-in, and deleted every token: AWS calls {found['calls']}")
    return found


def run_rust(d: Deployed, proxy: IamProxy, zoho: StrictZoho) -> None:
    """The Rust half, by tests/deploy.rs: the app's keyring re-check and the rotation of an imported token."""
    zoho.issue_refresh_token(IMPORTED_REFRESH, email=USER)
    tokens = d.work / "tokens.csv"
    tokens.write_text("id,user_name,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time,"
                      f"redirect_uri,api_domain\n1,{USER},{CLIENT_ID},{CLIENT_SECRET},{IMPORTED_REFRESH},,,,,\n")
    d.operator("import", str(tokens))
    listed = json.loads(d.operator("--json", "list"))
    check([(t.get("id"), t.get("user_name"), t.get("key_id")) for t in listed] == [("1", USER, "k1")],
          f"the store under {d.prefix} lists {listed}")
    print(f"the CLI with the stack's outputs (an operator): imported a token to {d.prefix}1 under key k1 and listed it")

    # A lookup tag the value does not back, as a save that died between its write and its retag leaves
    # one: the rotation's last step brings the tags in line with the rotated value (UntagResource).
    d.secretsmanager.tag_resource(SecretId=f"{d.prefix}1", Tags=[{"Key": "zts:grant", "Value": "0" * 64}])
    refreshed_before = len(zoho.refreshes)
    version = uuid.uuid4().hex
    leg = {"endpoint": proxy.url, "region": "us-east-1", "prefix": d.prefix, "keyring": d.keyring,
           "kms_key_id": d.outputs["KeyringKeyArn"], "accounts_url": zoho.url, "app_access_key": APP_KEY,
           "rotation_access_key": ROTATION_KEY, "secret_id": f"{d.prefix}1", "client_request_token": version}
    check(not sys.stdin.isatty(), "the Rust half of the IAM check (the keyring re-check, the rotation handler) is "
                                  "driven by tests/deploy.rs: run `cargo test --test deploy`")
    print(f"rust-leg: {json.dumps(leg)}", flush=True)
    reply = sys.stdin.readline().strip() or "no answer (run it through cargo test --test deploy)"
    check(not refused(proxy), f"the Rust half was refused:{refused(proxy)}\n(the Rust half: {reply})")
    check(reply == "ok", f"the Rust half: {reply}")
    stages = d.secretsmanager.describe_secret(SecretId=f"{d.prefix}1")["VersionIdsToStages"]
    check(stages.get(version) == ["AWSCURRENT"], f"after the rotation the token's versions are {stages}")
    tags = {t["Key"] for t in d.secretsmanager.describe_secret(SecretId=f"{d.prefix}1")["Tags"]}
    check("zts:grant" not in tags and "zts:access" in tags, f"after the rotation the token's tags are {sorted(tags)}")
    check(zoho.refreshes[refreshed_before:] == [IMPORTED_REFRESH],
          f"the rotation refreshed at Zoho: {zoho.refreshes[refreshed_before:]}")
    print(f"as RotationRole: the four steps rotated {d.prefix}1 (a refresh at Zoho, AWSCURRENT on version "
          f"{version}, its lookup tags now the new value's); as AppRole, the keyring read and re-checked")


def refused(proxy: IamProxy) -> str:
    """Every refusal so far, as lines for a failure message (what a failed run was refused explains it)."""
    return "".join(f"\n  {e.role} was refused {e.action} on {e.resource} ({e.reason})"
                   for e in proxy.decisions() if not e.allowed)


def unused(role: Role, decisions: list[Logged]) -> tuple[list[str], list[str]]:
    """The (statement, action) pairs no allowed call used; and the statements left out of the check."""
    unused, skipped = [], []
    for policy, doc in role.documents.items():
        for sid, statement in statements(doc):
            actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
            if all(a.lower().startswith("logs:") for a in actions):
                skipped.append(f"{policy}/{sid}")
                continue
            for action in actions:
                pattern = re.compile("^" + re.escape(action).replace(r"\*", ".*").replace(r"\?", ".") + "$", re.I)
                if not any(e.allowed and f"{policy}/{sid}" in e.statements and pattern.match(e.action)
                           for e in decisions):
                    unused.append(f"{policy}/{sid} {action}")
    return unused, skipped


def report(role: Role, decisions: list[Logged]) -> None:
    """Fails on a refusal or a grant no call used; prints what each statement served."""
    denied = [e for e in decisions if not e.allowed]
    check(not denied, f"{role.name} was refused:" + "".join(
        f"\n  {e.action} on {e.resource} ({e.reason})" for e in denied))
    never, skipped = unused(role, decisions)
    check(not never, f"{role.name}'s policies grant what no call of the store used (least privilege): {never}")
    used: dict[str, dict[str, int]] = {}
    for e in decisions:
        for statement in e.statements:
            used.setdefault(statement, {}).setdefault(e.action.split(":", 1)[1], 0)
            used[statement][e.action.split(":", 1)[1]] += 1
    print(f"{role.name}: {len(decisions)} calls judged, none refused, every action of every statement used:")
    for statement, actions in sorted(used.items()):
        print(f"  {statement}: {', '.join(f'{a} x{n}' for a, n in sorted(actions.items()))}")
    if skipped:
        print(f"  (not exercised, no Lambda runs here: {', '.join(skipped)})")


def run(d: Deployed) -> None:
    names = {d.outputs["AppPolicyArn"]: "AppPolicy", d.outputs["RotationPolicyArn"]: "RotationPolicy"}
    app = role_policies(d.iam, d.outputs["AppRoleArn"], names)
    rotation = role_policies(d.iam, d.outputs["RotationRoleArn"], names)
    zoho = StrictZoho(email=USER).start()
    proxy = IamProxy(d.endpoint, {APP_KEY: app, ROTATION_KEY: rotation}, account=d.account).start()
    try:
        python = store_python(d.work)
        print(f"IAM proxy {proxy.url} in front of {d.endpoint}: {app.name} has {', '.join(app.documents)}; "
              f"{rotation.name} has {', '.join(rotation.documents)} (read back from LocalStack's IAM)")
        run_app(d, proxy, zoho, python)
        run_rust(d, proxy, zoho)
        strangers = [e for e in proxy.decisions() if e.role not in (app.name, rotation.name)]
        check(not strangers, f"calls from no role: {strangers}")
        report(app, proxy.decisions(app.name))
        report(rotation, proxy.decisions(rotation.name))
    finally:
        proxy.stop()
        zoho.stop()

