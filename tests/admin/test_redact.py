"""Personal data never reaches the inbox: each kind, in realistic French messages."""

from __future__ import annotations

import pytest

from integrations.admin.redact import redact


@pytest.mark.parametrize(
    ("text", "kind", "secret"),
    [
        ("mon numéro c'est le 06 12 34 56 78 rappelez moi", "phone", "06 12 34 56 78"),
        ("appelez-moi au +33 6 12 34 56 78 svp", "phone", "6 12 34 56 78"),
        ("tel 0612345678", "phone", "0612345678"),
        ("le fixe : 02.98.76.54.32", "phone", "02.98.76.54.32"),
        ("depuis l'étranger 0033 (0)2 98 76 54 32", "phone", "98 76 54 32"),
        ("mon adresse mail est jean.dupont@orange.fr merci", "email", "jean.dupont@orange.fr"),
        ("écrivez à Marie-Anne.Le-Gall+caf@laposte.net", "email", "laposte.net"),
        ("mon numéro de sécu 1 85 05 78 006 084 36", "nir", "006 084"),
        ("NIR 285072A00412345 sans la clé", "nir", "285072A00412345"),
        ("ma carte vitale 2 69 11 29 019 007 52 elle marche pas", "nir", "019 007"),
        ("mon RIB FR76 3000 6000 0112 3456 7890 189 pour le virement", "iban", "3000 6000"),
        ("iban FR7630006000011234567890189", "iban", "FR7630006000011234567890189"),
        ("j'habite 12 rue de la Paix 29000 Quimper", "address", "rue de la Paix"),
        ("c'est au 3 bis avenue Jean Jaurès, 72000 Le Mans", "address", "Jean Jaurès"),
        ("je suis au 5 chemin de Kerlann et je cherche de l'aide", "address", "Kerlann"),
    ],
)
def test_each_kind_of_personal_data_is_redacted(text: str, kind: str, secret: str) -> None:
    result = redact(text)
    assert kind in result.kinds
    assert secret not in result.text
    assert "<" in result.text and ">" in result.text


def test_the_rest_of_the_message_is_kept() -> None:
    result = redact("Bonjour, j'habite 12 rue de la Paix 29000 Quimper et je voudrais la fibre")
    assert result.text == "Bonjour, j'habite <adresse> et je voudrais la fibre"


def test_several_kinds_in_one_message() -> None:
    result = redact(
        "Je suis Mme Le Gall, 06 12 34 56 78, marie@example.fr, "
        "NIR 2 69 11 29 019 007 52, IBAN FR76 3000 6000 0112 3456 7890 189"
    )
    assert set(result.kinds) == {"phone", "email", "nir", "iban"}
    assert result.text == (
        "Je suis Mme Le Gall, <téléphone>, <courriel>, NIR <numéro de sécurité sociale>, "
        "IBAN <IBAN>"
    )


@pytest.mark.parametrize(
    "text",
    [
        "salle visio à Brest jeudi 14h pour 6 pendant 1h",
        "je voudrais réserver le 12 mars à 9h30",
        "le pass numérique c'est 10 euros par chèque ?",
        "France services au 29150 Châteaulin",
        "j'ai 2 enfants de 12 et 15 ans",
    ],
)
def test_ordinary_messages_are_left_alone(text: str) -> None:
    assert redact(text).text == text
    assert redact(text).kinds == ()
