import pytest
from cryptography.fernet import Fernet

from app.crypto import FactCipher, InvalidToken


def test_round_trip_keeps_japanese_and_types():
    box = FactCipher(Fernet.generate_key().decode())
    for value in ("髙橋 ﾊﾝｶｸ", 42, True, ["death"], {"era": "令和"}):
        assert box.open(box.seal(value)) == value


def test_rotation_reads_old_tokens_and_rewrites_them_under_the_new_key():
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    token = FactCipher(old_key).seal("山田")
    rotated_box = FactCipher(f"{new_key},{old_key}")
    rotated = rotated_box.rotate(token)
    assert FactCipher(new_key).open(rotated) == "山田"
    with pytest.raises(InvalidToken):
        FactCipher(new_key).open(token)


def test_altered_token_is_refused():
    box = FactCipher(Fernet.generate_key().decode())
    token = box.seal("山田")
    altered = token[:-5] + ("A" if token[-5] != "A" else "B") + token[-4:]
    with pytest.raises(InvalidToken):
        box.open(altered)
