/** The text of `rnn-native --help`. @internal */
export const HELP = `rnn-native: train recurrent language models, encoder-decoders and text classifiers

Usage:
  rnn-native train <text file> [options]     train a language model on a text file
  rnn-native generate <model> [options]      generate text from a trained model
  rnn-native seq2seq train <pairs.tsv> --save <model> [options]
                                             train an encoder-decoder with attention
  rnn-native seq2seq translate <model> [options]
                                             translate lines with a trained encoder-decoder
  rnn-native classify train <train.tsv> --save <model> [options]
                                             train a text classifier on label<TAB>text lines
  rnn-native classify predict <model> [options]
                                             classify lines of text with a trained classifier
  rnn-native classify evaluate <model> --input <test.tsv> [options]
                                             accuracy, per-class precision/recall/F1, confusion
  rnn-native launch --nproc <n> [options] -- <command> [arguments…]
                                             run the ranks of a data-parallel job
                                             (rnn-native launch --help for its options)
  rnn-native --help | --version

train options:
  --out <file>            where to save the model (default: model.safetensors)
  --tokens char|word      character- or word-level vocabulary (default: char)
  --cell lstm|gru|rnn_tanh|rnn_relu   recurrent cell (default: lstm)
  --hidden <n>            hidden size (default: 256)
  --embedding <n>         embedding size (default: 64; with --tie: the hidden size)
  --layers <n>            stacked layers (default: 1)
  --dropout <p>           dropout between layers, in [0, 1] (default: 0)
  --tie                   tie embedding and output weights (needs --embedding = --hidden)
  --epochs <n>            passes over the text (default: 1, or no limit when --max-seconds
                          or --patience is given without --epochs)
  --max-seconds <x>       stop after this many seconds and save the model; without
                          --epochs, train until the time is up
  --patience <n>          stop after n epochs without a better validation loss and keep
                          the best weights; without --epochs, train until then
  --batch-size <n>        parallel streams per batch (default: 32)
  --seq-length <n>        BPTT length (default: 64)
  --lr <x>                Adam learning rate, > 0 (default: 0.002)
  --weight-decay <x>      AdamW weight decay (default: 0, plain Adam)
  --clip <x>              clip the gradient norm (default: 1; 0 disables)
  --validation <f>        fraction of the text held out, in [0, 1) (default: 0.05)
  --checkpoint-dir <dir>  write checkpoints here (every epoch and every 500 batches)
  --resume                continue from the latest checkpoint in --checkpoint-dir
  --seed <n>              random seed (default: 1)
  --quiet                 no progress or epoch lines

  Losses are reported in bits per character (bits per word with --tokens word), with
  the perplexity. Ctrl-C stops after the current batch and saves the model; a second
  Ctrl-C quits without saving.

generate options:
  --prompt <text>         text to start from (default: the end symbol)
  --max-length <n>        tokens to generate (default: 200)
  --temperature <x>       sampling temperature, > 0 (default: 1)
  --top-k <n>             sample from the k most likely tokens
  --top-p <x>             nucleus sampling threshold, in (0, 1]
  --greedy                always take the most likely token
  --samples <n>           how many samples (default: 1)
  --seed <n>              random seed (default: 1)
  --stop <text>           stop at this token (e.g. '\\n'; default: the end symbol)

seq2seq train options (<pairs.tsv>: one source<TAB>target pair a line):
  --save <file>           where to save the model (required)
  --valid <file>          validation pairs (default: 5 % of the training pairs, chosen at random)
  --validation <f>        fraction held out when there is no --valid, in [0, 1) (default: 0.05)
  --source-tokens char|space   a token per character, or whitespace-separated (default: char)
  --target-tokens char|space   the same for the targets (default: char)
  --cell lstm|gru|rnn_tanh|rnn_relu   recurrent cell (default: lstm)
  --embedding <n>         embedding size (default: 128)
  --hidden <n>            hidden size, even (default: 256; the bidirectional encoder
                          gives each direction half)
  --encoder-layers <n>    stacked encoder layers (default: 2)
  --decoder-layers <n>    stacked decoder layers (default: 1)
  --attention none|dot|general|additive   attention (default: general, with input feeding)
  --dropout <p>           dropout, in [0, 1) (default: 0.2)
  --batch <n>             pairs per batch (default: 64)
  --lr <x>                Adam learning rate, > 0 (default: 0.002; halved whenever the
                          validation loss, measured three times an epoch, stops improving)
  --clip <x>              clip the gradient norm (default: 5; 0 disables)
  --epochs <n>            passes over the pairs (default: 10, or no limit when
                          --max-seconds or --patience is given without --epochs)
  --max-seconds <x>       stop after this many seconds and save the model
  --patience <n>          stop after n epochs without a better validation loss
  --checkpoint-dir <dir>  write checkpoints here (every epoch and every 500 batches)
  --resume                continue from the latest checkpoint in --checkpoint-dir
  --seed <n>              random seed (default: 1)
  --quiet                 no progress or epoch lines

seq2seq translate options (reads source lines from --input or stdin, writes one line each):
  --input <file>          read the source lines from this file (default: stdin)
  --beam <k>              beam width (default: 5; 1 decodes greedily)
  --max-length <n>        tokens per output at most (default: 2 x the source length + 10)
  --length-penalty <x>    rank beams by log-probability / length^x (default: 1)
  --batch <n>             lines decoded together (default: 64)

classify train options (<train.tsv>: one label<TAB>text a line):
  --save <file>           where to save the model (required)
  --valid <file>          validation texts (default: 10 % of the training texts, chosen at random)
  --validation <f>        fraction held out when there is no --valid, in [0, 1) (default: 0.1)
  --tokens word|char      lower-cased words and punctuation marks, or characters (default: word)
  --min-count <n>         words seen fewer times become <unk> (default: 2; char: 1)
  --max-length <n>        read the first n tokens of each text (default: 400; char: 1000)
  --cell lstm|gru|rnn_tanh|rnn_relu   recurrent cell (default: lstm)
  --embedding <n>         embedding size (default: 64)
  --hidden <n>            hidden size per direction (default: 64)
  --layers <n>            stacked layers (default: 1)
  --bidirectional         read texts both ways (the default); --unidirectional: forward only
  --pooling last|mean|max|attention   how the states become one vector (default: max)
  --dropout <p>           dropout on embeddings, between layers and before the output,
                          in [0, 1) (default: 0.3)
  --class-weights none|balanced   weigh rare classes up in the loss (default: none)
  --adversarial [eps]     adversarial training on the embedded words (Miyato et al. 2017):
                          perturbations of norm eps per text (default eps: 2); about 2x the
                          time per step
  --batch <n>             texts per batch (default: 32)
  --lr <x>                Adam learning rate, > 0 (default: 0.002; halved whenever the
                          validation loss stops improving)
  --clip <x>              clip the gradient norm (default: 5; 0 disables)
  --epochs <n>            passes over the texts (default: 10, or no limit when
                          --max-seconds or --patience is given without --epochs)
  --max-seconds <x>       stop after this many seconds and save the model
  --patience <n>          stop after n epochs without a better validation loss
  --checkpoint-dir <dir>  write checkpoints here (every epoch and every 500 batches)
  --resume                continue from the latest checkpoint in --checkpoint-dir
  --seed <n>              random seed (default: 1)
  --quiet                 no progress, epoch or report lines

classify predict options (reads one text a line from --input or stdin):
  --input <file>          read the texts from this file (default: stdin)
  --proba                 after each label, every class's probability (label:p, tab-separated)
  --batch <n>             texts classified together (default: 64)

classify evaluate options:
  --input <file>          labelled texts, label<TAB>text (required)
  --attack [eps]          also evaluate under the embedding-space attack of norm eps per
                          text (default eps: 2, the --adversarial default)
  --json                  end with one JSON line: accuracy, macroF1, per-class figures (in %)
                          and the confusion matrix
  --batch <n>             texts evaluated together (default: 64)

Exit status: 0 done; 1 failed while running; 2 a wrong option or an unusable input file;
130 interrupted by Ctrl-C (the model is saved).
`;
