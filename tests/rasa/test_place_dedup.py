"""One place, one answer: which source rows are the same place, and what the merge keeps."""

from __future__ import annotations

from actions.place_dedup import deduplicate, same_place


def row(**values) -> dict:
    base = {
        "id": "x", "pivot": "00000000000000", "nom": "Lieu", "commune": "Rosporden",
        "code_postal": "29140", "code_insee": "29241", "adresse": "2 rue Victor Hugo",
        "latitude": 47.9587, "longitude": -3.8326, "coord_source": "source",
        "date_maj": "2022-06-01", "imported_from": "a.json", "itinerance": None,
        "telephone": None, "horaires": None, "horaires_texte": None, "services": None,
        "dispositif_programmes_nationaux": None, "source": None, "publisher": None,
        "licence": None,
    }  # fmt: skip
    base.update(values)
    return base


def test_the_same_address_written_differently_is_one_place():
    a = row(id="cnfs-1", nom="SIVOM DU PAYS GLAZIK", adresse="PL DE RUTHIN")
    b = row(id="fs-3061", nom="France services Sivom Pays Glazik", adresse="Place de Ruthin",
            imported_from="fs.csv", latitude=47.96)  # fmt: skip
    assert same_place(a, b) == "même adresse"


def test_the_same_address_in_another_commune_is_another_place():
    a = row(id="a", adresse="1 place de la Mairie")
    b = row(id="b", adresse="1 place de la Mairie", code_insee="29232", code_postal="29000",
            imported_from="b.json")  # fmt: skip
    assert same_place(a, b) is None


def test_one_siret_for_two_sites_of_a_commune_is_two_places():
    # Real case: maison de l'emploi and mairie annexe of Rosporden, 90 m apart.
    a = row(id="a", pivot="21290241500208", nom="maison de l'emploi de Rosporden")
    b = row(id="b", pivot="21290241500208", nom="Mairie de Kernevel",
            adresse="2 Place de la mairie", latitude=47.9579, imported_from="b.json")  # fmt: skip
    assert same_place(a, b) is None


def test_same_siret_and_same_street_number_and_name_is_one_place():
    # Real case: ARGOS, « 6 rue Pierre Mendès France - 1er étage » / « 6 AV PIERRE MENDES FRANCE ».
    a = row(id="a", pivot="41227761800176", nom="ARGOS SARTHE", commune="Le Mans",
            code_insee="72181", code_postal="72000", adresse="6 rue Pierre Mendès France - 1er",
            latitude=None, longitude=None, coord_source="commune")  # fmt: skip
    b = row(id="b", pivot="41227761800176", nom="ARGOS", commune="Le Mans", code_insee="72181",
            code_postal="72000", adresse="6 AV PIERRE MENDES FRANCE", latitude=48.0066,
            imported_from="b.json")  # fmt: skip
    assert same_place(a, b) == "même SIRET"


def test_the_same_name_within_50_m_is_one_place_and_farther_is_not():
    a = row(id="a", nom="Médiathèque la parenthèse", adresse="Place Ar stivel rue du manoir")
    near = row(id="b", nom="Médiathèque La Parenthèse", adresse="Place ar Stivell Rue du manoir",
               latitude=47.9590, imported_from="b.json")  # fmt: skip
    far = dict(near, latitude=47.9610)  # about 250 m
    assert same_place(a, near) == "même nom à moins de 50 m"
    assert same_place(a, far) is None


def test_a_position_from_the_commune_centre_never_proves_a_name_match():
    a = row(id="a", nom="Croix Rouge", adresse="1 rue A", coord_source="commune")
    b = row(id="b", nom="Croix Rouge", adresse="2 rue B", imported_from="b.json")
    assert same_place(a, b) is None


def test_rows_of_one_file_need_names_that_contain_each_other():
    # Real case: the fixed and the itinerant France services of Brest share one address.
    fixed = row(id="fs-173", nom="France services Pimms Médiation Brest - Pontanézen",
                adresse="31 Rue Saint-jacques", imported_from="fs.csv")  # fmt: skip
    other = row(id="fs-1905", nom="France services Pimms Médiation Sud de Morlaix",
                adresse="31 rue Saint Jacques", imported_from="fs.csv")  # fmt: skip
    assert same_place(fixed, other) is None
    longer = row(id="di-153", nom='Centre Social Simone Veil "La Grande Maison"',
                 adresse="34, avenue de la Libération", imported_from="di.json")  # fmt: skip
    shorter = dict(longer, id="di-1aad", nom="Centre Social Simone Veil")
    assert same_place(longer, shorter) == "même adresse"


def test_an_itinerant_service_is_not_merged_with_a_fixed_place():
    bus = row(id="fs-1875", nom="Bus France services", itinerance="Itinérant", imported_from="f")
    office = row(id="cnfs-9", nom="Bus France services", itinerance=None)
    assert same_place(bus, office) is None


def test_the_merge_keeps_the_richest_fields_and_every_label():
    france_services = row(
        id="fs-172", nom="France services Châteaulin", adresse="33 Quai Robert Alba",
        date_maj="2024-08-01", telephone="+33298161420",
        horaires="Mo-Fr 08:45-12:00,13:30-17:30; PH off",
        services="Aide aux démarches administratives|Accès internet et matériel informatique",
        dispositif_programmes_nationaux="France Services", publisher="ANCT", imported_from="fs",
        licence="Licence Ouverte 2.0",
    )  # fmt: skip
    advisers = row(
        id="cnfs-1", nom="France Services", adresse="33 QUAI ROBERT ALBA", date_maj="2022-06-01",
        horaires=None, site_web="https://example.org",
        services="Maîtrise des outils numériques du quotidien"
        "|Accès internet et matériel informatique",
        dispositif_programmes_nationaux="Conseillers numériques|France Services",
        publisher="ANCT", licence="Licence Ouverte 2.0",
    )  # fmt: skip
    copy = dict(advisers, id="di-1", imported_from="di", publisher="data·inclusion")
    copy["dispositif_programmes_nationaux"] = "Conseillers numériques|Aidants Connect"
    places, merges = deduplicate([advisers, copy, france_services])
    [place] = places
    assert place["id"] == "fs-172" and place["nom"] == "France services Châteaulin"
    assert place["telephone"] == "+33298161420" and place["site_web"] == "https://example.org"
    assert place["horaires"].startswith("Mo-Fr 08:45")
    assert place["dispositif_programmes_nationaux"] == (
        "France Services|Conseillers numériques|Aidants Connect"
    )
    assert place["services"].split("|") == [
        "Aide aux démarches administratives",
        "Accès internet et matériel informatique",
        "Maîtrise des outils numériques du quotidien",
    ]
    assert place["publisher"] == "ANCT ; data·inclusion"
    assert place["member_count"] == 3 and place["date_maj"] == "2024-08-01"
    [merge] = merges
    assert merge.member_ids[0] == "fs-172" and set(merge.member_ids) == {"fs-172", "cnfs-1", "di-1"}
    assert all("même adresse" in reason for reason in merge.reasons)


def test_distinct_places_stay_apart():
    places, merges = deduplicate([row(id="a"), row(id="b", adresse="9 rue Autre", nom="Autre")])
    assert len(places) == 2 and merges == []
