"""Nearest places and answers by need, against the real open data shipped in data/places/."""

from __future__ import annotations

from datetime import datetime

import pytest
import yaml

from actions import geo, place_search, place_store
from actions.place_import import import_path
from common import hours
from common.config import PROJECT_ROOT
from common.migrate import upgrade

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=hours.PARIS)  # a Tuesday morning


@pytest.fixture(scope="module")
def index() -> geo.CommuneIndex:
    return geo.communes(PROJECT_ROOT / "data" / "communes.csv")


@pytest.fixture(scope="module")
def places(tmp_path_factory, index) -> list[place_store.Place]:
    url = f"sqlite:///{tmp_path_factory.mktemp('search') / 'places.db'}"
    upgrade(url)
    db = place_store.engine(url)
    import_path(PROJECT_ROOT / "data" / "places", db, index=index)
    return place_store.all_places(db)


@pytest.fixture(scope="module")
def needs() -> dict[str, place_search.Need]:
    raw = yaml.safe_load((PROJECT_ROOT / "data" / "places" / "needs.yml").read_text("utf-8"))
    return {n.name: n for n in place_search.needs(raw)}


NEAREST = [
    ("Brest", "Médiathèques de Saint-Martin et de Saint-Marc"),
    ("Quimper", "Ville de Quimper"),
    ("Morlaix", "COMMUNAUTE D'AGGLOMERATION DE MORLAIX COMMUNAUTE"),
    ("Carhaix-Plouguer", "France services Poher communauté"),
    ("Ouessant", "France services La Poste d'Ouessant"),
    ("Le Mans", "Agence De Gaulle Harmonie Mutuelle"),
    ("La Flèche", "Espace Multimédia"),
    ("Sablé-sur-Sarthe", "France services CC Pays Sabolien"),
    ("Saint-Calais", "Communauté de communes des Vallées de la Braye et de l'Anille"),
    ("Mamers", "Département de la Sarthe"),
]


@pytest.mark.parametrize(("commune", "first"), NEAREST)
def test_nearest_places_for_five_communes_of_each_departement(places, index, commune, first):
    found = place_search.nearest(places, index.get(commune), index)
    assert found.by_distance and len(found.places) == 3
    assert found.places[0][0].nom == first
    distances = [km for _, km in found.places]
    assert all(km is not None and km < 25 for km in distances)
    ids = [p.id for p, _ in found.places]
    assert len(set(ids)) == 3  # one place, one answer


def test_a_place_known_only_by_its_commune_is_ranked_after_precise_ones(places, index):
    found = place_search.nearest(places, index.get("La Flèche"), index)
    [precise, approximate, _] = found.places
    assert not precise[0].approximate_position and approximate[0].approximate_position
    card = place_search.describe_place(*approximate, NOW)
    assert (
        card.splitlines()[0] == "72-RS-Croix Rouge 72200 La Flèche (dans la commune de La Flèche)"
    )
    assert " m)" not in card.splitlines()[0] and " km)" not in card.splitlines()[0]


NEED_TEXTS = [
    ("où imprimer", "imprimer"),
    ("je voudrais imprimer mon billet de train", "imprimer"),
    ("un endroit qui accepte le Pass numérique", "pass_numerique"),
    ("pour faire ma déclaration avec quelqu'un", "demarches"),
    ("apprendre la tablette", "apprendre"),
    ("je cherche un lieu pour m'aider avec l'ordinateur", None),
    ("un lieu à Brest", None),
]


@pytest.mark.parametrize(("text", "expected"), NEED_TEXTS)
def test_the_need_is_chosen_from_the_message_words(needs, text, expected):
    found = place_search.need_in(text, list(needs.values()))
    assert (found.name if found else None) == expected


@pytest.mark.parametrize(
    ("need", "commune", "offered"),
    [
        ("imprimer", "Mamers", "Accès internet et matériel informatique"),
        ("demarches", "Ouessant", "Aide aux démarches administratives"),
        ("apprendre", "Sablé-sur-Sarthe", "Maîtrise des outils numériques du quotidien"),
        ("demarches", "Le Mans", "Aide aux démarches administratives"),
    ],
)
def test_a_service_filter_keeps_only_places_offering_it(
    places, index, needs, need, commune, offered
):
    found = place_search.nearest(places, index.get(commune), index, service=needs[need])
    assert found.places and not found.widened and not found.need_unmet
    for place, km in found.places:
        assert needs[need].offered_by(place)
        assert offered in place.services or set(place.labels) & needs[need].labels
        assert km <= place_search.NEAR_KM
    text = place_search.introduction(index.get(commune), found)
    assert text.endswith(f"{needs[need].phrase} :")


def test_none_near_widens_the_radius_and_says_so(places, index, needs):
    # Aidants Connect is offered by three places only, all in Finistère.
    found = place_search.nearest(
        places, index.get("Mamers"), index, service=needs["aidants_connect"]
    )
    assert found.widened and found.places
    assert all(km > place_search.NEAR_KM for _, km in found.places)
    assert all("Aidants Connect" in p.labels for p, _ in found.places)
    assert place_search.introduction(index.get("Mamers"), found).startswith(
        "Je ne trouve aucun lieu où un aidant habilité Aidants Connect peut faire une démarche "
        "à votre place à moins de 25 km de Mamers. En cherchant plus loin"
    )


def test_a_need_no_place_offers_is_said_and_the_nearest_places_are_given(places, index, needs):
    # No record of these open data says it accepts the Pass numérique.
    found = place_search.nearest(places, index.get("Brest"), index, service=needs["pass_numerique"])
    assert found.need_unmet and len(found.places) == 3
    assert place_search.introduction(index.get("Brest"), found) == (
        "Je ne trouve aucun lieu où le Pass numérique est accepté dans nos données. "
        "Voici les lieux d'aide au numérique les plus proches de Brest : "
        "appelez-les pour savoir s'ils peuvent vous aider."
    )


def test_a_place_accepting_the_pass_numerique_is_found(places, index, needs):
    accepting = place_store.Place(
        **{**places[0].__dict__, "id": "pass", "frais_a_charge": ("Pass numérique",)}
    )
    found = place_search.nearest([*places, accepting], index.get("Brest"), index,
                                 service=needs["pass_numerique"])  # fmt: skip
    assert [p.id for p, _ in found.places] == ["pass"] and not found.need_unmet


def test_an_itinerant_service_shows_its_programme_and_no_open_now(places):
    bus = next(p for p in places if p.id == "fs-1875")
    card = place_search.describe_place(bus, 2.0, NOW)
    assert "Service itinérant, présent selon ce programme : Itinérance sur les 9 communes" in card
    assert "Ouvert en ce moment" not in card and "Fermé en ce moment" not in card


def test_hours_kept_as_written_are_shown_without_an_open_now_claim(places):
    place = next(p for p in places if p.horaires_texte == "Très variables")
    card = place_search.describe_place(place, None, NOW)
    assert "Horaires indiqués par le lieu : Très variables" in card
    assert "Ouvert" not in card and "Fermé en ce moment" not in card


def test_every_card_says_how_old_the_information_is(places):
    for place in places:
        last = place_search.describe_place(place, 1.0, NOW).splitlines()[-1]
        assert last.startswith("Informations de 20") and "appelez avant de vous déplacer" in last


def test_commune_names_take_the_right_article():
    assert place_search.of_commune("Le Mans") == "du Mans"
    assert place_search.of_commune("Ouessant") == "d'Ouessant"
    assert place_search.of_commune("Les Rairies") == "des Rairies"
    assert place_search.of_commune("La Flèche") == "de La Flèche"
