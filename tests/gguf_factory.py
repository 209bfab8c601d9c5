"""A tiny llama-architecture GGUF model, written with the `gguf` package, that real llama.cpp
loads, templates, tokenizes and runs, and whose greedy output is a script we choose.

How: one transformer block whose attention and feed-forward outputs are zero, so each position's
hidden state is its token's embedding; embeddings are one-hot and the output matrix maps token i
to the script's next token, so the model is a bigram chain: the prompt's last token (the chat
template ends in a newline) leads to the script's first token, each script token to the next,
the last to end-of-sequence. The other weights are random. The vocabulary is SentencePiece-style
("llama"): <unk>, <s>, </s>, the 256 byte-fallback tokens, then the script's tokens, so any
prompt tokenizes (byte by byte) and the script decodes to exactly its text.
"""
from __future__ import annotations

from itertools import pairwise
from pathlib import Path

# A template of our own (not one llama-cpp-python recognises by name), so the GGUF's own
# Jinja chat template is what formats the prompt.
CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
SPECIALS = ["<unk>", "<s>", "</s>"]
UNK, BOS, EOS = 0, 1, 2
NEWLINE_BYTE = len(SPECIALS) + 0x0A  # the byte token <0x0A>: the last token of every prompt
SPACE = "\u2581"  # SentencePiece's word boundary


def script_tokens(text: str) -> list[str]:
    """`text` cut into distinct vocabulary pieces (a bigram chain cannot repeat a token): words
    with their leading space; a piece seen before is split into characters that are new."""
    pieces: list[str] = []
    for i, word in enumerate(text.split(" ")):
        piece = (SPACE if i else "") + word
        if piece and piece not in pieces:
            pieces.append(piece)
            continue
        chunk = ""
        for ch in piece:  # repeated word: extend a chunk until it is new
            chunk += ch
            if chunk not in pieces:
                pieces.append(chunk)
                chunk = ""
        if chunk:
            raise ValueError(f"cannot make {piece!r} from new pieces; reword the script")
    if "\n" in pieces:
        raise ValueError("a lone newline piece would end every prompt and break the chain; reword the script")
    return pieces


def write_tiny_llama(path: Path, script: str | list[str], *, context_length: int = 4096, seed: int = 0) -> Path:
    """Write the GGUF at `path`; the model answers any chat with `script` (greedy decoding), a
    text or the distinct vocabulary pieces to write it with."""
    import gguf
    import numpy as np

    words = script_tokens(script) if isinstance(script, str) else list(script)
    if len(set(words)) != len(words) or "\n" in words:
        raise ValueError("script pieces must be distinct, and none a lone newline")
    tokens = SPECIALS + [f"<0x{b:02X}>" for b in range(256)] + words
    vocab = len(tokens)
    n_embd = -(-vocab // 64) * 64
    n_head, n_ff = n_embd // 64, 64
    first_word = len(SPECIALS) + 256

    embeddings = np.zeros((vocab, n_embd), dtype=np.float32)
    embeddings[np.arange(vocab), np.arange(vocab)] = 1.0
    output = np.zeros((vocab, n_embd), dtype=np.float32)
    chain = [NEWLINE_BYTE, *range(first_word, first_word + len(words)), EOS]
    for current, following in pairwise(chain):
        output[following, current] = 1.0
    rng = np.random.default_rng(seed)

    def noise(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.02).astype(np.float32)

    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("tiny-scripted-llama")
    writer.add_context_length(context_length)
    writer.add_embedding_length(n_embd)
    writer.add_block_count(1)
    writer.add_feed_forward_length(n_ff)
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_head)
    writer.add_rope_dimension_count(64)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores([0.0] * vocab)
    types = [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL]
    types += [gguf.TokenType.BYTE] * 256 + [gguf.TokenType.NORMAL] * len(words)
    writer.add_token_types(types)
    writer.add_unk_token_id(UNK)
    writer.add_bos_token_id(BOS)
    writer.add_eos_token_id(EOS)
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(False)
    writer.add_chat_template(CHAT_TEMPLATE)

    writer.add_tensor("token_embd.weight", embeddings)
    writer.add_tensor("output_norm.weight", np.ones(n_embd, dtype=np.float32))
    writer.add_tensor("output.weight", output)
    writer.add_tensor("blk.0.attn_norm.weight", np.ones(n_embd, dtype=np.float32))
    for name in ("attn_q", "attn_k", "attn_v"):
        writer.add_tensor(f"blk.0.{name}.weight", noise(n_embd, n_embd))
    writer.add_tensor("blk.0.attn_output.weight", np.zeros((n_embd, n_embd), dtype=np.float32))
    writer.add_tensor("blk.0.ffn_norm.weight", np.ones(n_embd, dtype=np.float32))
    writer.add_tensor("blk.0.ffn_gate.weight", noise(n_ff, n_embd))
    writer.add_tensor("blk.0.ffn_up.weight", noise(n_ff, n_embd))
    writer.add_tensor("blk.0.ffn_down.weight", np.zeros((n_embd, n_ff), dtype=np.float32))

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
