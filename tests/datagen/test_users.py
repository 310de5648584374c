"""UserInformation records: spec §2.2 fields, valid phone numbers, unique 19-digit ids, determinism."""

from __future__ import annotations

import phonenumbers

from mock_server.datagen.users import iter_users, user_id

LOCALES = ("en_US", "de_DE", "ja_JP", "fr_FR", "en_GB", "pt_BR")


def test_records_follow_the_spec() -> None:
    users = list(iter_users(seed=3, count=300, locales=LOCALES))
    assert len({u["user_id"] for u in users}) == 300
    for u in users:
        assert set(u) == {
            "user_id",
            "given_name",
            "family_name",
            "address",
            "telephone",
            "email",
            "language_code",
        }
        assert len(u["user_id"]) == 19 and u["user_id"].isdigit() and u["user_id"][0] != "0"
        assert 0 < len(u["given_name"]) <= 40 and 0 < len(u["family_name"]) <= 40
        addr = u["address"]
        assert (
            {"country", "locality", "postal_code", "street_address"}
            <= set(addr)
            <= {"country", "locality", "region", "postal_code", "street_address"}
        )
        number = phonenumbers.parse(u["telephone"])
        assert phonenumbers.is_valid_number(number), u["telephone"]
        assert phonenumbers.region_code_for_number(number) == addr["country"]
        assert u["telephone"] == phonenumbers.format_number(
            number, phonenumbers.PhoneNumberFormat.INTERNATIONAL
        )
        assert u["email"].count("@") == 1 and u["email"].split("@")[1].startswith("example.")
        assert u["language_code"].endswith("-" + addr["country"])
    assert len({u["address"]["country"] for u in users}) == len(LOCALES)


def test_deterministic_and_seed_dependent() -> None:
    assert list(iter_users(seed=9, count=20)) == list(iter_users(seed=9, count=20))
    assert list(iter_users(seed=9, count=20)) != list(iter_users(seed=10, count=20))


def test_user_ids_are_a_bijection_of_the_index() -> None:
    ids = {user_id(1, i) for i in range(50_000)}
    assert len(ids) == 50_000 and all(len(i) == 19 for i in ids)
