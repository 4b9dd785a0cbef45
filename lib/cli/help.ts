/** The text of `rnn-native --help`. @internal */
export const HELP = `rnn-native: train recurrent language models and generate text

Usage:
  rnn-native train <text file> [options]     train a language model on a text file
  rnn-native generate <model> [options]      generate text from a trained model
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

Exit status: 0 done; 1 failed while running; 2 a wrong option or an unusable input file;
130 interrupted by Ctrl-C (the model is saved).
`;
