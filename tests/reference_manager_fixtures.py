"""A researcher's reference-manager library for tests: a Zotero data directory built from Zotero's
real schema (tests/zotero_factory.py), and RIS, CSL-JSON and BibTeX exports overlapping it, each
written the way the tools write them (CRLF and a BOM in RIS, DOIs as URLs, years as strings...)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tests.pdf_factory import paper_pdf
from tests.zotero_factory import ZoteroLibrary

FEDERATED_ABSTRACT = (
    "Federated learning enables resource-constrained edge devices to train a shared model while keeping "
    "the training data local. We show that accuracy drops by up to 55% for neural networks trained on "
    "highly skewed non-IID data and propose sharing a small globally shared subset of data."
)
ATTENTION_ABSTRACT = (
    "The dominant sequence transduction models are based on complex recurrent or convolutional neural "
    "networks. We propose a new simple network architecture, the Transformer, based solely on attention "
    "mechanisms, dispensing with recurrence and convolutions entirely."
)
CHAPTER_ABSTRACT = (
    "This chapter surveys the foundations of deep learning, from the perceptron and backpropagation to "
    "convolutional networks for vision and recurrent networks for language and speech."
)
GLACIER_ABSTRACT = (
    "Surface melt on Greenland glaciers is tracked with daily satellite radar, revealing that meltwater "
    "lakes drain in hours and briefly speed up the ice flow by a third."
)
TRASHED_ABSTRACT = (
    "Soil microbes in drought-stressed grasslands shift toward spore-forming taxa, and this shift "
    "persists for three years after rainfall returns to normal levels in our field plots."
)
FEDAVG_ABSTRACT_1 = "Modern mobile devices have access to a wealth of data suitable for learning models,"
FEDAVG_ABSTRACT_2 = "which in turn can greatly improve the user experience on the device. We advocate federated averaging."
BERT_ABSTRACT = (
    "We introduce a new language representation model called BERT, which stands for Bidirectional Encoder "
    "Representations from Transformers, pre-trained on unlabeled text by jointly conditioning on both left "
    "and right context in all layers."
)
FT_CACHE_TEXT = (
    "Federated learning full text from the Zotero cache. Clients hold skewed label distributions, and weight "
    "divergence between client models grows with the earth mover's distance of their class distributions."
)


@dataclass
class ZoteroFixture:
    folder: Path
    library: ZoteroLibrary
    items: dict[str, int]  # name -> itemID
    collections: dict[str, int]


def build_zotero(folder: Path, linked_pdf: Path) -> ZoteroFixture:
    """Four regular items of four types, a trashed one, notes (standalone and child), attachments
    stored (with and without a full-text cache) and linked (present and missing), a collection
    with a subcollection, tags, and both kinds of citation key."""
    z = ZoteroLibrary(folder)
    items: dict[str, int] = {}
    items["federated"] = z.add_item(
        "journalArticle",
        {"title": "Federated Learning with Non-IID Data", "abstractNote": FEDERATED_ABSTRACT,
         "date": "2018-06-02 June 2, 2018", "DOI": "10.1000/FLNonIID.2018", "publicationTitle": "CoRR",
         "extra": "tex.ids: zhao-fl\nCitation Key: zhao2018federated"},
        [("Yue", "Zhao"), ("Meng", "Li"), ("Liangzhen", "Lai"), ("Vikas", "Chandra", "editor")],
    )
    items["attention"] = z.add_item(
        "conferencePaper",
        {"title": "Attention Is All You Need", "abstractNote": ATTENTION_ABSTRACT, "date": "2017-00-00 2017",
         "proceedingsTitle": "Advances in Neural Information Processing Systems", "citationKey": "vaswani2017attention",
         "url": "https://arxiv.org/abs/1706.03762"},
        [("Ashish", "Vaswani"), ("Noam", "Shazeer"), ("Google Brain",)],
    )
    items["chapter"] = z.add_item(
        "bookSection",
        {"title": "Foundations of Deep Learning", "abstractNote": CHAPTER_ABSTRACT, "bookTitle": "Handbook of AI",
         "date": "2020-03-00 March 2020"},
        [("Deep Learning Study Group",)],
    )
    items["glacier"] = z.add_item(
        "report",
        {"title": "Greenland Glacier Melt from Satellite Radar", "abstractNote": GLACIER_ABSTRACT,
         "date": "2021-11-15 15 November 2021", "institution": "Polar Institute"},
        [("Ingrid", "Olsen")],
    )
    items["trashed"] = z.add_item(
        "preprint", {"title": "Drought and Soil Microbes", "abstractNote": TRASHED_ABSTRACT, "date": "2022"},
        [("Pat", "Doe")])
    z.trash(items["trashed"])
    z.add_note("My thoughts on non-IID data", parent=items["federated"])
    z.add_note("A standalone reading list note")
    # attachments: stored with Zotero's full-text cache; stored without one (the PDF is parsed);
    # linked and present; linked and missing; one in the trash
    z.add_attachment(items["federated"], "imported_file", "zhao.pdf", data=paper_pdf(), ft_cache=FT_CACHE_TEXT)
    z.add_attachment(items["attention"], "imported_url", "vaswani.pdf", data=paper_pdf(
        title="Attention Is All You Need", abstract=("Sparse attention everywhere in this stored PDF.",)))
    z.add_attachment(items["glacier"], "linked_file", str(linked_pdf))
    z.add_attachment(items["chapter"], "linked_file", str(folder.parent / "gone" / "chapter.pdf"))
    trashed_pdf = z.add_attachment(items["glacier"], "imported_file", "old.pdf", data=paper_pdf(),
                                   ft_cache="text of an attachment in the trash")
    z.trash(trashed_pdf)
    z.add_attachment(None, "imported_file", "loose.pdf", data=paper_pdf())  # a top-level attachment
    collections = {"Thesis": z.add_collection("Thesis")}
    collections["Thesis/Chapter 2"] = z.add_collection("Chapter 2", collections["Thesis"])
    z.collect(collections["Thesis/Chapter 2"], items["federated"])
    z.collect(collections["Thesis"], items["attention"])
    z.tag(items["federated"], "federated", "to-read")
    z.tag(items["attention"], "transformers")
    z.tag(items["glacier"], "climate", automatic=True)
    return ZoteroFixture(folder, z, items, collections)


# ---- exports ------------------------------------------------------------------------------------

RIS_ENTRIES = [
    # Scopus-style: the Zotero item above, title in another case and punctuation, DOI as a URL
    ["TY  - JOUR", "AU  - Zhao, Yue", "AU  - Li, Meng", "TI  - Federated learning with non-IID data.",
     "T2  - CoRR", "PY  - 2018", "DO  - https://doi.org/10.1000/flnoniid.2018",
     f"AB  - {FEDERATED_ABSTRACT}", "KW  - non-iid", "KW  - federated", "ER  - "],
    # Web of Science-style: DA with no year, an abstract continued on the next line
    ["TY  - CONF", "AU  - McMahan, H. Brendan", "AU  - Moore, Eider",
     "TI  - Communication-Efficient Learning of Deep Networks from Decentralized Data",
     "JO  - Proc. AISTATS", "DA  - //", "PY  - 2017///", f"AB  - {FEDAVG_ABSTRACT_1}", f"    {FEDAVG_ABSTRACT_2}",
     "UR  - http://proceedings.mlr.press/v54/mcmahan17a.html", "ER  - "],
    # broken: no title or abstract
    ["TY  - JOUR", "AU  - Nobody, N.", "PY  - 2001", "ER  - "],
]


def write_ris(path: Path) -> Path:
    """CRLF line ends and a UTF-8 BOM, as EndNote and Windows tools write them."""
    text = "\r\n".join(line for entry in RIS_ENTRIES for line in [*entry, ""]) + "\r\n"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    return path


CSL_ITEMS = [
    # the Zotero conference paper again: another case, no DOI, another user key
    {"id": "http://zotero.org/users/local/abc/items/QWERTY12", "type": "paper-conference",
     "title": "Attention is all you need", "container-title": "NeurIPS", "citation-key": "Vaswani2017",
     "author": [{"family": "Vaswani", "given": "Ashish"}, {"family": "Shazeer", "given": "Noam"}],
     "issued": {"date-parts": [["2017"]]}},
    # new: DOI as a URL in upper case, a literal author, years as strings
    {"id": "devlin2019bert", "type": "paper-conference", "citation-key": "devlin2019bert",
     "title": "BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding",
     "container-title": "Proceedings of NAACL", "DOI": "https://doi.org/10.18653/V1/N19-1423",
     "author": [{"family": "Devlin", "given": "Jacob"}, {"literal": "Google AI Language"}],
     "issued": {"date-parts": [["2019", "6"]]}, "abstract": BERT_ABSTRACT},
    # the RIS conference paper again, its key in `note` (Zotero's Extra, as older Better BibTeX writes it)
    {"id": "item-3", "type": "paper-conference",
     "title": "Communication-efficient learning of deep networks from decentralized data",
     "author": [{"family": "McMahan", "given": "H. Brendan"}], "issued": {"date-parts": [[2017, 4]]},
     "note": "Citation Key: mcmahan2017communication"},
    "not an item",
]


def write_csl(path: Path) -> Path:
    path.write_text(json.dumps(CSL_ITEMS, indent=2, ensure_ascii=False), encoding="utf-8")
    return path


BIBTEX = """@article{Zhao18,
  title = {Federated Learning with {Non-IID} Data},
  author = {Zhao, Yue and Li, Meng},
  journal = {CoRR},
  year = {2018},
  doi = {10.1000/FLNonIID.2018},
}
"""


def write_bib(path: Path) -> Path:
    path.write_text(BIBTEX, encoding="utf-8")
    return path
