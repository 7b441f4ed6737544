"""The operator tool comes with the package: `zoho-token-store` (a console script) and
`python -m zoho_token_store` run the Rust crate's own tool through the native module, so a Python team
makes keys, moves its FileStore in, lists and rotates without Rust."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

# The Zoho SDK FileStore's CSV layout (SDK 8), one row.
FILE_STORE = (
    "id,user_name,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time,redirect_uri,"
    "api_domain\n"
    "1,pip@example.com,1000.CLIENT,secret-1,1000.refresh-pip,1000.access-pip,,1900000000000,"
    "https://app.example.com/cb,https://www.zohoapis.com\n"
)


def tool(*args: str, env: dict, module: bool = False) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "zoho_token_store"] if module else [str(Path(sys.executable).parent / "zoho-token-store")]
    # (Run away from python/, whose source tree would shadow the installed package.)
    return subprocess.run([*command, *args], env=env, capture_output=True, text=True, cwd=Path(env["HOME_FOR_TEST"]))


def test_keygen_import_list_and_rotate_from_the_package(endpoint, prefix, tmp_path):
    env = dict(os.environ, ZOHO_TOKEN_STORE_PREFIX=prefix, HOME_FOR_TEST=str(tmp_path))
    env.pop("ZOHO_TOKEN_STORE_KEYS", None)
    env.pop("ZOHO_TOKEN_STORE_KEYRING_SECRET", None)

    # Without keys, the error says where the tool is for a Python user.
    missing = tool("list", env=env)
    assert missing.returncode == 1
    assert "pip install zoho-token-store" in missing.stderr and "python -m zoho_token_store" in missing.stderr

    made = tool("keygen", env=env)
    assert made.returncode == 0, made.stderr
    env["ZOHO_TOKEN_STORE_KEYS"] = made.stdout.strip()
    assert env["ZOHO_TOKEN_STORE_KEYS"].startswith("index=")

    sdk_file = tmp_path / "sdk_tokens.txt"
    sdk_file.write_text(FILE_STORE)
    imported = tool("import", str(sdk_file), env=env, module=True)
    assert imported.returncode == 0, imported.stderr
    listed = tool("list", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    [row] = json.loads(listed.stdout)
    assert row["user_name"] == "pip@example.com" and "1000.refresh-pip" not in listed.stdout

    # A new primary key, then every token re-encrypted under it: the same commands as the Rust binary.
    second = tool("keygen", "--id", "k2", env=env).stdout.strip()
    k2 = next(part for part in second.split(",") if part.startswith("k2="))
    env["ZOHO_TOKEN_STORE_KEYS"] = ",".join([env["ZOHO_TOKEN_STORE_KEYS"].split(",")[0], k2,
                                             *env["ZOHO_TOKEN_STORE_KEYS"].split(",")[1:]])
    rotated = tool("rotate", env=env, module=True)
    assert rotated.returncode == 0, rotated.stderr
    assert json.loads(tool("keys", "--json", env=env).stdout) == {"k2": 1}

    # Usage errors and --help behave as the binary's (exit 2 and 0).
    assert tool("show", env=env).returncode == 2
    helped = tool("--help", env=env, module=True)
    assert helped.returncode == 0 and "keygen" in helped.stdout
