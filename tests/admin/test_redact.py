"""Personal data never reaches the inbox: each kind, in realistic French messages."""

from __future__ import annotations

import pytest

from integrations.admin.redact import redact


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        (
            "mon numéro c'est le 06 12 34 56 78 rappelez moi",
            "phone",
            "mon numéro c'est le <téléphone> rappelez moi",
        ),
        ("appelez-moi au +33 6 12 34 56 78 svp", "phone", "appelez-moi au <téléphone> svp"),
        ("tel 0612345678", "phone", "tel <téléphone>"),
        ("le fixe : 02.98.76.54.32", "phone", "le fixe : <téléphone>"),
        ("depuis l'étranger 0033 (0)2 98 76 54 32", "phone", "depuis l'étranger <téléphone>"),
        (
            "mon adresse mail est jean.dupont@orange.fr merci",
            "email",
            "mon adresse mail est <courriel> merci",
        ),
        ("écrivez à Marie-Anne.Le-Gall+caf@laposte.net", "email", "écrivez à <courriel>"),
        (
            "mon numéro de sécu 1 85 05 78 006 084 36",
            "nir",
            "mon numéro de sécu <numéro de sécurité sociale>",
        ),
        (
            "NIR 285072A00412345 sans la clé",
            "nir",
            "NIR <numéro de sécurité sociale> sans la clé",
        ),
        (
            "ma carte vitale 2 69 11 29 019 007 52 elle marche pas",
            "nir",
            "ma carte vitale <numéro de sécurité sociale> elle marche pas",
        ),
        (
            "mon RIB FR76 3000 6000 0112 3456 7890 189 pour le virement",
            "iban",
            "mon RIB <IBAN> pour le virement",
        ),
        ("iban FR7630006000011234567890189", "iban", "iban <IBAN>"),
        ("j'habite 12 rue de la Paix 29000 Quimper", "address", "j'habite <adresse>"),
        ("c'est au 3 bis avenue Jean Jaurès, 72000 Le Mans", "address", "c'est au <adresse>"),
        (
            "je suis au 5 chemin de Kerlann et je cherche de l'aide",
            "address",
            "je suis au <adresse> et je cherche de l'aide",
        ),
    ],
)
def test_each_kind_of_personal_data_is_redacted(text: str, kind: str, expected: str) -> None:
    # The whole secret goes (not only a part of it), every other word stays.
    result = redact(text)
    assert result.kinds == (kind,)
    assert result.text == expected


def test_the_rest_of_the_message_is_kept() -> None:
    result = redact("Bonjour, j'habite 12 rue de la Paix 29000 Quimper et je voudrais la fibre")
    assert result.text == "Bonjour, j'habite <adresse> et je voudrais la fibre"


def test_several_kinds_in_one_message() -> None:
    result = redact(
        "Je suis Mme Le Gall, 06 12 34 56 78, marie@example.fr, "
        "NIR 2 69 11 29 019 007 52, IBAN FR76 3000 6000 0112 3456 7890 189"
    )
    assert set(result.kinds) == {"phone", "email", "nir", "iban", "name"}
    assert result.text == (
        "Je suis Mme <nom>, <téléphone>, <courriel>, NIR <numéro de sécurité sociale>, IBAN <IBAN>"
    )


@pytest.mark.parametrize(
    "text",
    [
        "salle visio à Brest jeudi 14h pour 6 pendant 1h",
        "je voudrais réserver le 12 mars à 9h30",
        "le pass numérique c'est 10 euros par chèque ?",
        "France services au 29150 Châteaulin",
        "j'ai 2 enfants de 12 et 15 ans",
        "moi c'est pour le RSA",
        "Bonjour Madame, je voudrais un rendez-vous",
        "je ne le sais pas",
        "le rendez-vous est le 12/03 à 10h",
        "mon nom est-il enregistré ?",
    ],
)
def test_ordinary_messages_are_left_alone(text: str) -> None:
    assert redact(text).text == text
    assert redact(text).kinds == ()


# Names and dates of birth, as people write them: the whole secret goes, every other
# word of the sentence stays.
@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        (
            "Bonjour je m'appelle Jean Dupont et je voudrais un rendez-vous",
            "name",
            "Bonjour je m'appelle <nom> et je voudrais un rendez-vous",
        ),
        ("je m appelle jean-pierre le gall, merci", "name", "je m appelle <nom>, merci"),
        ("jm'apel kevin jsp koi faire", "name", "jm'apel <nom> jsp koi faire"),
        ("je mapelle Marie Le Goff j'habite à Brest", "name", "je mapelle <nom> j'habite à Brest"),
        ("JE M'APPELLE MARTINE DURAND", "name", "JE M'APPELLE <nom>"),
        ("moi c'est Marie, j'ai besoin d'aide", "name", "moi c'est <nom>, j'ai besoin d'aide"),
        ("moi cest lucas pour la fibre", "name", "moi cest <nom> pour la fibre"),
        ("mwa c yanis", "name", "mwa c <nom>"),
        ("mon nom est Kerhervé et mon prénom Anne", "name", "mon nom est <nom> et mon prénom Anne"),
        ("mon nom c'est dupont", "name", "mon nom c'est <nom>"),
        ("mon nom de famille est de la Fontaine.", "name", "mon nom de famille est <nom>."),
        ("Nom : Dupont Prénom : Jean", "name", "Nom : <nom> Prénom : <nom>"),
        ("nom: le guen prenom: yves", "name", "nom: <nom> prenom: <nom>"),
        (
            "c'est pour Madame Le Gall qui n'a pas internet",
            "name",
            "c'est pour Madame <nom> qui n'a pas internet",
        ),
        ("je suis monsieur durand", "name", "je suis monsieur <nom>"),
        ("mme kerleroux voudrait la carte", "name", "mme <nom> voudrait la carte"),
        ("de la part de M. Tanguy", "name", "de la part de M. <nom>"),
        (
            "je suis née le 12/03/1950 à Brest",
            "birth_date",
            "je suis née le <date de naissance> à Brest",
        ),
        ("né(e) le 12/03/1950", "birth_date", "né(e) le <date de naissance>"),
        ("ne le 3-3-50 a quimper", "birth_date", "ne le <date de naissance> a quimper"),
        ("nee le 1er janvier 1942", "birth_date", "nee le <date de naissance>"),
        ("je suis ne en 1950", "birth_date", "je suis ne en <date de naissance>"),
        (
            "date de naissance : 3 mars 1950 merci",
            "birth_date",
            "date de naissance : <date de naissance> merci",
        ),
        (
            "date de naissance 03 fevrier 1961",
            "birth_date",
            "date de naissance <date de naissance>",
        ),
        ("ddn 12.03.50 svp", "birth_date", "ddn <date de naissance> svp"),
        ("naissance : 14 aout 1938", "birth_date", "naissance : <date de naissance>"),
    ],
)
def test_names_and_dates_of_birth_are_redacted(text: str, kind: str, expected: str) -> None:
    result = redact(text)
    assert kind in result.kinds
    assert result.text == expected


def test_a_name_and_a_date_of_birth_in_one_message() -> None:
    result = redact("je m'appelle Yvonne Le Bihan, née le 3 mars 1950, tel 06 12 34 56 78")
    assert result.text == "je m'appelle <nom>, née le <date de naissance>, tel <téléphone>"
    assert set(result.kinds) == {"name", "birth_date", "phone"}
