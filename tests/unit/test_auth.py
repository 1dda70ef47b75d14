import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from shared.auth import Identity, TokenIssuer, UserDirectory, hash_password, verify_password
from shared.clock import FakeClock
from tests.unit.factories import sample_district

SECRET = "鼓楼区-测试密钥-0123456789abcdef"
ZHANG_WEI = Identity("M001", "张伟", "member", "B0101")


@pytest.fixture(scope="module")
def directory() -> UserDirectory:
    return UserDirectory(sample_district())


def clock_at_real_now() -> FakeClock:
    # PyJWT checks exp/iat against the wall clock, so a valid token needs a fake clock started there
    return FakeClock(datetime.now(UTC))


class TestPasswords:
    def test_roundtrip(self):
        stored = hash_password("demo")
        assert verify_password("demo", stored)

    @pytest.mark.parametrize("attempt", ["Demo", "demo ", "", "演示"])
    def test_wrong_password(self, attempt):
        assert not verify_password(attempt, hash_password("demo"))

    def test_plain_text_is_not_stored_and_salt_is_random(self):
        first, second = hash_password("demo"), hash_password("demo")

        assert first != second
        assert "demo" not in first
        salt, _, digest = first.partition("$")
        assert len(bytes.fromhex(salt)) == 16 and len(bytes.fromhex(digest)) == 64

    def test_same_salt_same_hash(self):
        assert hash_password("张伟的密码", b"0" * 16) == hash_password("张伟的密码", b"0" * 16)


class TestUserDirectory:
    def test_member_logs_in_with_branch(self, directory):
        assert directory.authenticate("M001", "demo") == ZHANG_WEI

    def test_supervisor_and_operator(self, directory):
        assert directory.authenticate("U900", "demo") == Identity("U900", "林主任", "supervisor", "S01")
        assert directory.authenticate("U100", "demo") == Identity("U100", "话务员小陈", "operator", None)

    def test_wrong_password_is_rejected(self, directory):
        assert directory.authenticate("M001", "wrong") is None

    @pytest.mark.parametrize("user_id", ["M999", "", "m001"])
    def test_unknown_user_is_rejected(self, directory, user_id):
        assert directory.authenticate(user_id, "demo") is None

    def test_unknown_user_costs_a_hash_like_a_known_one(self, directory, monkeypatch):
        hashed = []
        monkeypatch.setattr("shared.auth.verify_password", lambda password, stored: hashed.append(stored) or False)

        directory.authenticate("M999", "demo")
        directory.authenticate("M001", "wrong")

        assert len(hashed) == 2, "an unknown user id answered without hashing: its timing gives it away"


class TestTokens:
    def test_issue_verify_roundtrip(self):
        issuer = TokenIssuer(SECRET, timedelta(hours=8), clock_at_real_now())
        assert issuer.verify(issuer.issue(ZHANG_WEI)) == ZHANG_WEI

    def test_claims_carry_role_unit_and_expiry_from_the_clock(self):
        clock = clock_at_real_now()
        token = TokenIssuer(SECRET, timedelta(hours=8), clock).issue(ZHANG_WEI)

        claims = jwt.decode(token, SECRET, algorithms=["HS256"])

        assert (claims["sub"], claims["role"], claims["unit"]) == ("M001", "member", "B0101")
        assert claims["exp"] - claims["iat"] == 8 * 3600
        assert claims["iat"] == int(clock.now().timestamp())

    def test_token_issued_two_hours_ago_has_expired_now(self):
        then = TokenIssuer(SECRET, timedelta(hours=1), FakeClock(datetime.now(UTC) - timedelta(hours=2)))
        now = TokenIssuer(SECRET, timedelta(hours=1), FakeClock(datetime.now(UTC)))

        with pytest.raises(jwt.ExpiredSignatureError):
            now.verify(then.issue(ZHANG_WEI))

    def test_token_expires_when_the_clock_passes_the_ttl(self):
        clock = clock_at_real_now()
        issuer = TokenIssuer(SECRET, timedelta(hours=1), clock)
        token = issuer.issue(ZHANG_WEI)

        clock.advance(hours=1, seconds=1)

        with pytest.raises(jwt.ExpiredSignatureError):
            issuer.verify(token)

    def test_token_is_valid_at_the_moment_of_issue_on_the_fake_clock(self):
        issuer = TokenIssuer(SECRET, timedelta(hours=1), FakeClock(datetime(2020, 1, 1, tzinfo=UTC)))
        assert issuer.verify(issuer.issue(ZHANG_WEI)) == ZHANG_WEI

    def test_tampered_signature_is_rejected(self):
        issuer = TokenIssuer(SECRET, timedelta(hours=1), clock_at_real_now())
        header, payload, signature = issuer.issue(ZHANG_WEI).split(".")
        flipped = signature[:5] + ("A" if signature[5] != "A" else "B") + signature[6:]

        with pytest.raises(jwt.InvalidSignatureError):
            issuer.verify(f"{header}.{payload}.{flipped}")

    def test_member_cannot_promote_itself_to_supervisor(self):
        issuer = TokenIssuer(SECRET, timedelta(hours=1), clock_at_real_now())
        header, payload, signature = issuer.issue(ZHANG_WEI).split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        claims["role"] = "supervisor"
        forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()

        with pytest.raises(jwt.InvalidSignatureError):
            issuer.verify(f"{header}.{forged}.{signature}")

    def test_token_from_another_secret_is_rejected(self):
        other = TokenIssuer("别的密钥-fedcba9876543210-xyz", timedelta(hours=1), clock_at_real_now())
        issuer = TokenIssuer(SECRET, timedelta(hours=1), clock_at_real_now())

        with pytest.raises(jwt.InvalidSignatureError):
            issuer.verify(other.issue(ZHANG_WEI))

    def test_unsigned_token_is_rejected(self):
        issuer = TokenIssuer(SECRET, timedelta(hours=1), clock_at_real_now())
        exp = datetime.now(UTC) + timedelta(hours=1)
        unsigned = jwt.encode({"sub": "U900", "role": "supervisor", "exp": exp}, None, algorithm="none")

        with pytest.raises(jwt.InvalidTokenError):
            issuer.verify(unsigned)

    def test_token_without_role_is_rejected(self):
        issuer = TokenIssuer(SECRET, timedelta(hours=1), clock_at_real_now())
        exp = datetime.now(UTC) + timedelta(hours=1)
        token = jwt.encode({"sub": "M001", "exp": exp}, SECRET, algorithm="HS256")

        with pytest.raises(jwt.MissingRequiredClaimError):
            issuer.verify(token)
