"""deploy/iam_policy.py against what AWS documents and answers (python3 -m unittest; tests/deploy.rs)."""

from __future__ import annotations

import unittest

from iam_policy import Unsupported, evaluate

ARN = "arn:aws:secretsmanager:us-east-1:000000000000:secret:"
KEY = "arn:aws:kms:us-east-1:000000000000:key/1234"
POLICY = {"Version": "2012-10-17", "Statement": [
    {"Sid": "Tokens", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"],
     "Resource": f"{ARN}zoho/oauth/*"},
    {"Sid": "Keyring", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
     "Resource": f"{ARN}zoho/keyring-??????"},
    {"Sid": "Unwrap", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": KEY,
     "Condition": {"StringEquals": {"kms:EncryptionContext:zoho-token-store:keyring": "zoho/keyring"}}},
]}


def allowed(action: str, resource: str, context: dict | None = None, policy: dict = POLICY) -> bool:
    return evaluate({"p": policy}, action, resource, context).allowed


class Evaluation(unittest.TestCase):
    def test_an_action_is_allowed_only_on_the_resources_its_statement_names(self) -> None:
        self.assertTrue(allowed("secretsmanager:GetSecretValue", f"{ARN}zoho/oauth/u1-AbCdEf"))
        self.assertTrue(allowed("secretsmanager:PutSecretValue", f"{ARN}zoho/oauth/lease/u1-AbCdEf"))
        self.assertFalse(allowed("secretsmanager:DeleteSecret", f"{ARN}zoho/oauth/u1-AbCdEf"))
        self.assertFalse(allowed("secretsmanager:PutSecretValue", f"{ARN}zoho/keyring-AbCdEf"))
        self.assertFalse(allowed("secretsmanager:GetSecretValue", f"{ARN}zoho/other-AbCdEf"))

    def test_action_names_ignore_case_and_resources_do_not(self) -> None:
        self.assertTrue(allowed("SecretsManager:getsecretvalue", f"{ARN}zoho/oauth/x-AbCdEf"))
        self.assertFalse(allowed("secretsmanager:GetSecretValue", f"{ARN}ZOHO/oauth/x-AbCdEf"))

    def test_six_question_marks_match_the_suffix_aws_appends_and_nothing_else(self) -> None:
        self.assertTrue(allowed("secretsmanager:GetSecretValue", f"{ARN}zoho/keyring-AbCdEf"))
        # A secret that does not exist is authorized against its bare name: AccessDenied, not NotFound.
        self.assertFalse(allowed("secretsmanager:GetSecretValue", f"{ARN}zoho/keyring"))
        self.assertFalse(allowed("secretsmanager:GetSecretValue", f"{ARN}zoho/keyring-extra-AbCdEf"))

    def test_a_condition_on_the_encryption_context_needs_the_context(self) -> None:
        context = {"kms:EncryptionContext:zoho-token-store:keyring": "zoho/keyring"}
        self.assertTrue(allowed("kms:Decrypt", KEY, context))
        self.assertFalse(allowed("kms:Decrypt", KEY, {"kms:EncryptionContext:zoho-token-store:keyring": "other"}))
        self.assertFalse(allowed("kms:Decrypt", KEY, {}))
        self.assertFalse(allowed("kms:Decrypt", "arn:aws:kms:us-east-1:000000000000:key/other", context))

    def test_an_explicit_deny_wins(self) -> None:
        deny = {"Statement": [*POLICY["Statement"], {"Effect": "Deny", "Action": "secretsmanager:*",
                                                    "Resource": f"{ARN}zoho/oauth/lease/*"}]}
        self.assertFalse(allowed("secretsmanager:GetSecretValue", f"{ARN}zoho/oauth/lease/u1-AbCdEf", policy=deny))
        self.assertTrue(allowed("secretsmanager:GetSecretValue", f"{ARN}zoho/oauth/u1-AbCdEf", policy=deny))

    def test_every_statement_that_allows_is_named(self) -> None:
        both = {"Statement": [*POLICY["Statement"], {"Sid": "Wide", "Effect": "Allow", "Action": "secretsmanager:Get*",
                                                    "Resource": "*"}]}
        decision = evaluate({"p": both}, "secretsmanager:GetSecretValue", f"{ARN}zoho/oauth/u1-AbCdEf")
        self.assertEqual(decision.statements, ("p/Tokens", "p/Wide"))

    def test_what_the_model_cannot_judge_is_refused_loudly(self) -> None:
        for statement in ({"Effect": "Allow", "NotAction": "kms:*", "Resource": "*"},
                          {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*",
                           "Condition": {"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": "a"}}},
                          {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*",
                           "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}):
            with self.assertRaises(Unsupported):
                evaluate({"p": {"Statement": [statement]}}, "kms:Decrypt", KEY, {})


if __name__ == "__main__":
    unittest.main()
