"""The behaviour every gallery store must have. A store's test module subclasses
``GalleryContract`` and provides two fixtures: ``gallery`` (an empty store) and ``reopen``
(a function giving a second, independent client on the same store)."""

from __future__ import annotations

import numpy as np
import pytest

from workers.face.errors import InvalidNameError, UnknownPersonError
from workers.face.identity import GalleryIndex


class GalleryContract:
    def test_starts_empty(self, gallery):
        assert gallery.people() == []
        assert gallery.version() == gallery.version()

    def test_add_creates_a_person_then_appends_to_them(self, gallery, photo_embedding):
        first = gallery.add("Barack Obama", photo_embedding("obama"))
        assert first.person_id.startswith("person-") and first.name == "Barack Obama"
        second = gallery.add("Barack Obama", photo_embedding("obama2")[None, :])
        assert second.person_id == first.person_id
        (person,) = gallery.people()
        np.testing.assert_array_equal(person.embeddings, np.stack([photo_embedding("obama"), photo_embedding("obama2")]))
        assert person.embeddings.dtype == np.float32 and person.rejected.shape == (0, 128)

    def test_every_change_changes_the_version(self, gallery, photo_embedding):
        versions = [gallery.version()]
        gallery.add("Barack Obama", photo_embedding("obama"))
        versions.append(gallery.version())
        gallery.add("Joe Biden", photo_embedding("biden"))
        versions.append(gallery.version())
        gallery.reject("Barack Obama", photo_embedding("biden"))
        versions.append(gallery.version())
        gallery.remove("Joe Biden")
        versions.append(gallery.version())
        assert len(set(versions)) == len(versions), versions

    def test_a_second_client_sees_the_changes(self, gallery, reopen, photo_embedding):
        other = reopen()
        before = other.version()
        gallery.add("Barack Obama", photo_embedding("obama"))
        assert other.version() != before
        assert [p.name for p in other.people()] == ["Barack Obama"]

    def test_enrolled_photo_matches_another_photo_of_the_same_person_only(self, gallery, photo_embedding):
        obama = gallery.add("Barack Obama", photo_embedding("obama"))
        index = GalleryIndex(gallery.people())
        assert index.match(photo_embedding("obama2"), 0.6, 0.08).person_id == obama.person_id
        assert index.match(photo_embedding("biden"), 0.6, 0.08).person_id is None

    def test_reject_stops_that_face_matching_the_person(self, gallery, photo_embedding):
        gallery.add("Barack Obama", photo_embedding("obama"))
        person = gallery.reject("Barack Obama", photo_embedding("obama2"))
        assert len(person.rejected) == 1
        index = GalleryIndex(gallery.people())
        assert index.match(photo_embedding("obama2"), 0.6, 0.08).person_id is None
        assert index.match(photo_embedding("obama"), 0.6, 0.08).person_id == person.person_id

    def test_remove_forgets_the_person_and_a_new_enrolment_gets_a_new_id(self, gallery, photo_embedding):
        old = gallery.add("Barack Obama", photo_embedding("obama"))
        gallery.add("Joe Biden", photo_embedding("biden"))
        removed = gallery.remove("Barack Obama")
        assert removed.person_id == old.person_id and len(removed.embeddings) == 1
        assert [p.name for p in gallery.people()] == ["Joe Biden"]
        assert gallery.add("Barack Obama", photo_embedding("obama")).person_id != old.person_id

    def test_unknown_names_are_refused_with_the_known_ones(self, gallery, photo_embedding):
        gallery.add("Joe Biden", photo_embedding("biden"))
        with pytest.raises(UnknownPersonError, match=r"no person named 'Nobody'.*Joe Biden"):
            gallery.remove("Nobody")
        with pytest.raises(UnknownPersonError, match="Nobody"):
            gallery.reject("Nobody", photo_embedding("obama"))
        assert [p.name for p in gallery.people()] == ["Joe Biden"]

    def test_names_are_normalised_and_bad_input_refused(self, gallery, photo_embedding):
        gallery.add("  Joe   Biden ", photo_embedding("biden"))
        assert [p.name for p in gallery.people()] == ["Joe Biden"]
        with pytest.raises(ValueError, match="empty"):
            gallery.add("   ", photo_embedding("biden"))
        with pytest.raises(ValueError, match="shape"):
            gallery.add("Someone", np.zeros(64, np.float32))
        with pytest.raises(ValueError, match="NaN"):
            gallery.add("Someone", np.full(128, np.nan, np.float32))
        assert [p.name for p in gallery.people()] == ["Joe Biden"]

    @pytest.mark.parametrize("name", ["<img src=x onerror=alert(1)>", "<script>alert(1)</script>", 'Bob" onload="x',
                                      "javascript:alert(1)", "a/b", "tab\tand\x00nul", "x" * 65, "...", "-_-"])
    def test_names_outside_the_allowed_set_are_refused_and_nothing_is_written(self, gallery, photo_embedding, name):
        version = gallery.version()
        with pytest.raises(InvalidNameError) as refused:
            gallery.add(name, photo_embedding("obama"))
        assert "\n" not in str(refused.value) and ("name" in str(refused.value))
        assert gallery.people() == [] and gallery.version() == version

    @pytest.mark.parametrize("name", ["Zoë O'Brien-Smith", "José Martí", "Nguyễn Thị Minh Khai", "김민준", "محمد علي",
                                      "Анна Каренина", "Dr. J_Doe 2", "D’Arcy", "x" * 64])
    def test_names_in_any_script_with_digits_and_name_punctuation_are_accepted(self, gallery, photo_embedding, name):
        assert gallery.add(name, photo_embedding("obama")).name == name
        assert [p.name for p in gallery.people()] == [name]
