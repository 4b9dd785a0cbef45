#!/usr/bin/python3
"""rnn-native's Seq2Seq (lib/models/seq2seq.ts) in PyTorch: the same architecture, parameter
names and math, so that a state dict loads into either and the same batch gives the same
loss, logits and gradients to float32 rounding, and the same weights decode to the same
tokens (greedy decoding and beam search follow ours rule for rule).

A module for other scripts (scripts/make_seq2seq_fixtures.py, bench/g2p_torch.py):

    sys.path.insert(0, "scripts"); from seq2seq_torch import Seq2Seq, EOS
    model = Seq2Seq(sourceVocabSize=30, targetVocabSize=41, hiddenSize=256)   # our option names
    b = model.batch([[5, 6, 7], [8, 9]], [[3, 4], [5]])     # lists of int lists, as Seq2Seq.batch()
    model.loss(b).backward()
    best = model.translate([[5, 6, 7]], beam_size=5)        # [[token, ...]], EOS removed

The model (names as in our state dict):

- ``encoder.embedding`` nn.Embedding(Vs, E); ``encoder.rnn`` nn.LSTM / nn.GRU / nn.RNN (cell
  'lstm', 'gru', 'rnn_tanh', 'rnn_relu'), time-major, ``encoderLayers`` layers, hidden H/2 per
  direction when bidirectional (else H), run on pack_padded_sequence(enforce_sorted=False).
- ``bridge_h`` (and ``bridge_c`` for LSTM) nn.Linear(H, Ld·H): the top encoder layer's final
  states, [forward | backward] side by side per row (B, H), through the linear map and tanh,
  reshaped (B, Ld, H) and transposed to the decoder's initial state (Ld, B, H).
- ``decoder.embedding`` nn.Embedding(Vt, E); ``decoder.rnn`` of ``decoderLayers`` layers over
  E (+ H with input feeding) inputs; ``decoder.attention`` (dot: q·kᵀ; general:
  q·(linear_key(k))ᵀ, linear_key = Linear(H, H, bias=False); additive:
  v·tanh(linear_query(q) + linear_key(k)), linear_query = Linear(H, H), linear_key =
  Linear(H, H, bias=False), v (H)) over the encoder outputs with the padding masked (−inf)
  before the softmax; ``decoder.combine`` Linear(2H, H, bias=False) on [context | q], then
  tanh: the attentional state; ``decoder.out`` Linear(H, Vt), optionally tied to the target
  embedding (E = H).
- Dropout (training only) on both embeddings' outputs, between stacked recurrent layers and
  on the attentional states before ``decoder.out``.
- Input feeding: the decoder runs one step at a time, each step's input being
  [embedding | the previous step's attentional state] (zeros at the first step).
- Teacher forcing: the decoder reads EOS (id 0) then the target and learns the target then
  EOS; logits rows are time-major (t·B + b); padding is −100 in the targets (ignored).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

EOS = 0
IGNORE_INDEX = -100

OPTION_KEYS = ("sourceVocabSize", "targetVocabSize", "embeddingDim", "hiddenSize", "cell", "encoderLayers",
               "decoderLayers", "bidirectional", "attention", "inputFeeding", "dropout", "tieTargetEmbeddings")


def _recurrent(cell, input_size, hidden_size, num_layers, dropout, bidirectional=False):
    kw = dict(num_layers=num_layers, dropout=dropout if num_layers > 1 else 0.0, bidirectional=bidirectional)
    if cell == "lstm":
        return nn.LSTM(input_size, hidden_size, **kw)
    if cell == "gru":
        return nn.GRU(input_size, hidden_size, **kw)
    if cell in ("rnn_tanh", "rnn_relu"):
        return nn.RNN(input_size, hidden_size, nonlinearity=cell[4:], **kw)
    raise ValueError(f"unknown cell {cell!r}")


class Attention(nn.Module):
    """lib/nn/attention.ts: scores of queries (B, Tq, Hq) against a memory (B, S, Hk)."""

    def __init__(self, kind, query_dim, key_dim, attention_dim=None):
        super().__init__()
        self.kind = kind
        A = query_dim if attention_dim is None else attention_dim
        if kind == "dot":
            assert query_dim == key_dim
        elif kind == "general":
            self.linear_key = nn.Linear(key_dim, query_dim, bias=False)
        elif kind == "additive":
            self.linear_query = nn.Linear(query_dim, A)
            self.linear_key = nn.Linear(key_dim, A, bias=False)
            bound = 1 / math.sqrt(A)
            self.v = nn.Parameter(torch.empty(A).uniform_(-bound, bound))
        else:
            raise ValueError(f"unknown attention {kind!r}")

    def prepare(self, memory):
        """(memory, keys): the keys projected once for many queries."""
        return memory, (self.linear_key(memory) if self.kind != "dot" else memory)

    def forward(self, query, memory, keys, lengths=None):
        """context (B, Tq, Hk) and weights (B, Tq, S); `lengths` (B) masks the padding."""
        if self.kind == "additive":
            scores = torch.tanh(self.linear_query(query).unsqueeze(2) + keys.unsqueeze(1)).matmul(self.v)
        else:
            scores = torch.matmul(query, keys.transpose(1, 2))
        if lengths is not None:
            S = memory.shape[1]
            pad = torch.arange(S, device=scores.device).view(1, 1, S) >= lengths.view(-1, 1, 1)
            scores = scores.masked_fill(pad, float("-inf"))
        weights = torch.softmax(scores, -1)
        return torch.matmul(weights, memory), weights


class Encoder(nn.Module):
    def __init__(self, o):
        super().__init__()
        D = 2 if o["bidirectional"] else 1
        self.embedding = nn.Embedding(o["sourceVocabSize"], o["embeddingDim"])
        self.rnn = _recurrent(o["cell"], o["embeddingDim"], o["hiddenSize"] // D, o["encoderLayers"], o["dropout"],
                              o["bidirectional"])


class Decoder(nn.Module):
    def __init__(self, o):
        super().__init__()
        H = o["hiddenSize"]
        self.embedding = nn.Embedding(o["targetVocabSize"], o["embeddingDim"])
        self.rnn = _recurrent(o["cell"], o["embeddingDim"] + (H if o["inputFeeding"] else 0), H, o["decoderLayers"],
                              o["dropout"])
        if o["attention"] != "none":
            self.attention = Attention(o["attention"], H, H)
            self.combine = nn.Linear(2 * H, H, bias=False)
        else:
            self.attention = None
            self.combine = None
        self.out = nn.Linear(H, o["targetVocabSize"])
        if o["tieTargetEmbeddings"]:
            self.out.weight = self.embedding.weight


def resolve_options(**kw):
    """Our Seq2SeqOptions with our defaults filled in (lib/models/seq2seq.ts's constructor)."""
    unknown = set(kw) - set(OPTION_KEYS)
    if unknown:
        raise TypeError(f"unknown Seq2Seq options: {sorted(unknown)}")
    attention = kw.get("attention") or "general"
    o = {
        "sourceVocabSize": int(kw["sourceVocabSize"]),
        "targetVocabSize": int(kw["targetVocabSize"]),
        "embeddingDim": int(kw.get("embeddingDim") or 128),
        "hiddenSize": int(kw.get("hiddenSize") or 256),
        "cell": kw.get("cell") or "lstm",
        "encoderLayers": int(kw.get("encoderLayers") or 1),
        "decoderLayers": int(kw.get("decoderLayers") or 1),
        "bidirectional": True if kw.get("bidirectional") is None else bool(kw["bidirectional"]),
        "attention": attention,
        "inputFeeding": (attention != "none") if kw.get("inputFeeding") is None else bool(kw["inputFeeding"]),
        "dropout": 0.2 if kw.get("dropout") is None else float(kw["dropout"]),
        "tieTargetEmbeddings": bool(kw.get("tieTargetEmbeddings") or False),
    }
    if o["bidirectional"] and o["hiddenSize"] % 2:
        raise ValueError("a bidirectional encoder needs an even hiddenSize")
    if o["inputFeeding"] and attention == "none":
        raise ValueError("inputFeeding needs attention")
    if o["tieTargetEmbeddings"] and o["embeddingDim"] != o["hiddenSize"]:
        raise ValueError("tieTargetEmbeddings needs embeddingDim equal to hiddenSize")
    return o


class Seq2Seq(nn.Module):
    """lib/models/seq2seq.ts's Seq2Seq. Keyword options are ours (Seq2SeqOptions)."""

    def __init__(self, **options):
        super().__init__()
        o = resolve_options(**options)
        self.options = o
        H, Ld = o["hiddenSize"], o["decoderLayers"]
        self.encoder = Encoder(o)
        self.bridge_h = nn.Linear(H, Ld * H)
        self.bridge_c = nn.Linear(H, Ld * H) if o["cell"] == "lstm" else None
        self.decoder = Decoder(o)

    # ------------------------------------------------------------------ batches

    @staticmethod
    def batch(sources, targets, device=None):
        """Seq2Seq.batch(): padded time-major ids. Returns a dict: source (S, B) (padded with
        EOS), sourceLengths (B), targetIn (T, B) (EOS then the target, padded with EOS),
        targetOut (T·B) (the target then EOS, −100 on padding), S, T, B, tokens."""
        assert len(sources) == len(targets) and len(sources) > 0
        B = len(sources)
        S = max(len(s) for s in sources)
        T = max(len(t) for t in targets) + 1
        source = torch.full((S, B), EOS, dtype=torch.long)
        target_in = torch.full((T, B), EOS, dtype=torch.long)
        target_out = torch.full((T, B), IGNORE_INDEX, dtype=torch.long)
        tokens = 0
        for b, (src, tgt) in enumerate(zip(sources, targets)):
            assert len(src) > 0
            source[: len(src), b] = torch.as_tensor(list(src), dtype=torch.long)
            if len(tgt):
                tgt_t = torch.as_tensor(list(tgt), dtype=torch.long)
                target_in[1: len(tgt) + 1, b] = tgt_t
                target_out[: len(tgt), b] = tgt_t
            target_out[len(tgt), b] = EOS
            tokens += len(tgt) + 1
        lengths = torch.tensor([len(s) for s in sources], dtype=torch.long)
        out = {"source": source, "sourceLengths": lengths, "S": S, "targetIn": target_in,
               "targetOut": target_out.reshape(-1), "T": T, "B": B, "tokens": tokens}
        if device is not None:
            for k in ("source", "targetIn", "targetOut"):
                out[k] = out[k].to(device)
        return out

    # ------------------------------------------------------------------ the model

    def encode(self, source, lengths):
        """Our encode(): (memory (B, S, H), keys, lengths, decoder's initial state)."""
        o = self.options
        S, B = source.shape
        D = 2 if o["bidirectional"] else 1
        H, Ld, Le = o["hiddenSize"], o["decoderLayers"], o["encoderLayers"]
        x = F.dropout(self.encoder.embedding(source), o["dropout"], self.training)
        packed = pack_padded_sequence(x, lengths.cpu(), enforce_sorted=False)
        out, final = self.encoder.rnn(packed)
        output, _ = pad_packed_sequence(out, total_length=S)  # (S, B, H), zeros past each length

        def top(s):  # the top layer's final state(s), both directions side by side: (B, H)
            return s.narrow(0, (Le - 1) * D, D).transpose(0, 1).reshape(B, H)

        def bridge(lin, s):
            return torch.tanh(lin(top(s))).reshape(B, Ld, H).transpose(0, 1).contiguous()

        if o["cell"] == "lstm":
            state = (bridge(self.bridge_h, final[0]), bridge(self.bridge_c, final[1]))
        else:
            state = bridge(self.bridge_h, final)
        memory = output.transpose(0, 1)  # (B, S, H)
        att = self.decoder.attention
        memory, keys = att.prepare(memory) if att is not None else (memory, None)
        return {"B": B, "memory": memory, "keys": keys, "lengths": lengths.to(memory.device), "state": state}

    def attend(self, enc, q):
        """Attention and the attentional layer over decoder outputs q (B, Tq, H) → (B, Tq, H)."""
        dec = self.decoder
        if dec.attention is None:
            return q
        context, _ = dec.attention(q, enc["memory"], enc["keys"], enc["lengths"])
        return torch.tanh(dec.combine(torch.cat([context, q], -1)))

    def decode(self, enc, inputs, state, feed):
        """The decoder over inputs (T, B): attentional states (T, B, H), the final state and feed."""
        o = self.options
        B, H = enc["B"], o["hiddenSize"]
        dec = self.decoder
        emb = F.dropout(dec.embedding(inputs), o["dropout"], self.training)
        if not o["inputFeeding"]:
            if inputs.shape[0] == 1:  # a decoding step
                out, state = self._rnn_step(emb[0], state)
                out = out.unsqueeze(0)
            else:
                out, state = dec.rnn(emb, state)
            hidden = self.attend(enc, out.transpose(0, 1)).transpose(0, 1)
            return hidden, state, None
        if feed is None:
            feed = emb.new_zeros(B, H)
        steps = []
        for t in range(inputs.shape[0]):
            x = torch.cat([emb[t], feed], -1)
            out, state = self._rnn_step(x, state)
            feed = self.attend(enc, out.unsqueeze(1)).reshape(B, H)
            steps.append(feed)
        return torch.stack(steps, 0), state, feed

    def _rnn_step(self, x, state):
        """decoder.rnn over one time step x (B, I) from state: (output (B, H), state). The
        same math as calling the nn.LSTM/GRU/RNN module on a length-1 sequence (dropout
        between layers in training, as the module applies it), through the single-step cell
        functions on the module's own parameters: PyTorch's module call on one step costs
        about twice as much (forward and backward) as the cell (nn.LSTMCell's kernel), and
        OpenNMT-py also steps an input-feeding decoder with cells."""
        rnn = self.decoder.rnn
        lstm = isinstance(rnn, nn.LSTM)
        h_all = state[0] if lstm else state
        hs, cs = [], []
        for layer in range(rnn.num_layers):
            if layer > 0 and self.training and rnn.dropout > 0:
                x = F.dropout(x, rnn.dropout, True)
            w = [getattr(rnn, f"{n}_l{layer}") for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            if lstm:
                h, c = torch.lstm_cell(x, (h_all[layer], state[1][layer]), *w)
                cs.append(c)
            elif isinstance(rnn, nn.GRU):
                h = torch.gru_cell(x, h_all[layer], *w)
            elif rnn.nonlinearity == "relu":
                h = torch.rnn_relu_cell(x, h_all[layer], *w)
            else:
                h = torch.rnn_tanh_cell(x, h_all[layer], *w)
            hs.append(h)
            x = h
        h_n = torch.stack(hs, 0)
        return x, ((h_n, torch.stack(cs, 0)) if lstm else h_n)

    def project(self, hidden):
        """The output layer over attentional states (..., H) → logits (rows, V)."""
        H = self.options["hiddenSize"]
        return self.decoder.out(F.dropout(hidden.reshape(-1, H), self.options["dropout"], self.training))

    def forward(self, batch):
        """Teacher-forced logits (T·B, V), time-major rows."""
        enc = self.encode(batch["source"], batch["sourceLengths"])
        hidden, _, _ = self.decode(enc, batch["targetIn"], enc["state"], None)
        return self.project(hidden)

    def loss(self, batch, label_smoothing=0.0):
        """The mean cross-entropy of the batch's target tokens (EOS included, padding ignored)."""
        return F.cross_entropy(self(batch), batch["targetOut"], ignore_index=IGNORE_INDEX,
                               label_smoothing=label_smoothing)

    # ------------------------------------------------------------------ decoding

    def step(self, enc, tokens, state, feed):
        """One step for rows reading `tokens` (B): log-probabilities (B, V), state, feed."""
        hidden, state, feed = self.decode(enc, tokens.view(1, -1), state, feed)
        return torch.log_softmax(self.project(hidden), -1), state, feed

    def translate(self, sources, beam_size=5, mode=None, max_length=None, length_penalty=1.0):
        """Our translate(): beam search (beam_size > 1) or greedy, in eval mode without
        gradients (the mode is restored); each output a list of ids, EOS removed."""
        if mode is None:
            mode = "beam" if beam_size > 1 else "greedy"
        if mode not in ("beam", "greedy"):
            raise ValueError("mode: 'beam' or 'greedy' (sampling uses our generator; not twinned)")
        if max_length is None:
            max_length = 2 * max(len(s) for s in sources) + 10
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                device = next(self.parameters()).device
                b = self.batch(sources, [[] for _ in sources])
                enc = self.encode(b["source"].to(device), b["sourceLengths"])
                if mode == "beam":
                    return self._beam_search(enc, beam_size, max_length, length_penalty)
                return self._greedy(enc, max_length)
        finally:
            self.train(was_training)

    def _greedy(self, enc, max_length):
        B = enc["B"]
        out = [[] for _ in range(B)]
        done = [False] * B
        state, feed = enc["state"], None
        device = enc["memory"].device
        tokens = torch.full((B,), EOS, dtype=torch.long, device=device)
        t = 0
        while t < max_length and not all(done):
            logp, state, feed = self.step(enc, tokens, state, feed)
            nxt = logp.argmax(-1)  # the first maximum, as ours
            ids = nxt.tolist()
            for b in range(B):
                if not done[b]:
                    if ids[b] == EOS:
                        done[b] = True
                    else:
                        out[b].append(ids[b])
            tokens = nxt
            t += 1
        return out

    def _beam_search(self, enc_in, K, max_length, length_penalty):
        """Our beamSearch(), rule for rule (see lib/models/seq2seq.ts)."""
        V = self.options["targetVocabSize"]
        B = enc_in["B"]
        BK = B * K
        device = enc_in["memory"].device
        expand = torch.arange(BK, device=device) // K
        enc = {"B": BK, "memory": enc_in["memory"].index_select(0, expand),
               "keys": enc_in["keys"].index_select(0, expand) if enc_in["keys"] is not None else None,
               "lengths": enc_in["lengths"].index_select(0, expand.to(enc_in["lengths"].device)),
               "state": _reorder(enc_in["state"], expand)}
        state, feed = enc["state"], None
        scores = [-math.inf] * BK
        for b in range(B):
            scores[b * K] = 0.0
        history = [[] for _ in range(BK)]
        finished = [[] for _ in range(B)]
        done = [False] * B
        tokens = torch.full((BK,), EOS, dtype=torch.long, device=device)

        def rank(logp, length):
            return logp / math.pow(max(1, length), length_penalty)

        width = min(V, 2 * K)
        t = 0
        while t < max_length and not all(done):
            logp, state, feed = self.step(enc, tokens, state, feed)
            # The top `width` of each row, ties broken by the lower index (a stable sort).
            values, indices = torch.sort(logp, dim=-1, descending=True, stable=True)
            values = values[:, :width].tolist()  # float32 values as doubles, as ours reads them
            indices = indices[:, :width].tolist()
            source = [0] * BK
            nxt = [EOS] * BK
            next_scores = [-math.inf] * BK
            next_history = [None] * BK
            for b in range(B):
                rows_of = b * K
                for k in range(K):
                    source[rows_of + k] = rows_of
                    next_history[rows_of + k] = []
                if done[b]:
                    continue
                candidates = []
                for k in range(K):
                    row = rows_of + k
                    if scores[row] == -math.inf:
                        continue
                    for j in range(width):
                        candidates.append((scores[row] + values[row][j], row, indices[row][j]))
                candidates.sort(key=lambda c: -c[0])  # stable, as Array.prototype.sort
                kept = 0
                for score, row, token in candidates:
                    if kept == K:
                        break
                    if token == EOS:
                        if len(finished[b]) < K:
                            finished[b].append((history[row], rank(score, len(history[row]) + 1)))
                        continue
                    slot = rows_of + kept
                    kept += 1
                    source[slot] = row
                    nxt[slot] = token
                    next_scores[slot] = score
                    next_history[slot] = history[row] + [token]
                if len(finished[b]) >= K or kept == 0:
                    done[b] = True
            src = torch.tensor(source, dtype=torch.long, device=device)
            state = _reorder(state, src)
            feed = feed.index_select(0, src) if feed is not None else None
            tokens = torch.tensor(nxt, dtype=torch.long, device=device)
            scores = next_scores
            history = next_history
            t += 1
        # Beams still alive at max_length are candidates too.
        for b in range(B):
            for k in range(K):
                row = b * K + k
                if scores[row] > -math.inf and not done[b]:
                    finished[b].append((history[row], rank(scores[row], len(history[row]))))
        result = []
        for f in finished:
            best = None
            for h in f:
                if best is None or h[1] > best[1]:
                    best = h
            result.append(list(best[0]) if best else [])
        return result


def _reorder(state, rows):
    """The state's rows (dim 1) picked by `rows`."""
    if isinstance(state, tuple):
        return tuple(s.index_select(1, rows) for s in state)
    return state.index_select(1, rows)
