// The one table of recurrent cell kinds on the native side (lib/nn/cell-kinds.ts is its twin
// on the TypeScript side; a test checks that the two agree through the binding's cellKinds()).
// A new cell kind adds a row here, its math in cells.h/cells.cc, and a case where the layer
// and step kernels dispatch on CellType.
#pragma once

namespace rnn {

enum class CellType : int { RnnTanh = 0, RnnRelu = 1, Lstm = 2, Gru = 3 };

struct CellKind {
  CellType type;
  const char* name;     // the name TypeScript uses ('rnn_tanh', 'lstm', ...)
  int gates;            // G: stacked gate blocks of H rows in weight_ih / weight_hh
  bool has_cell_state;  // carries c besides h (LSTM)
};

inline constexpr CellKind kCellKinds[] = {
    {CellType::RnnTanh, "rnn_tanh", 1, false},
    {CellType::RnnRelu, "rnn_relu", 1, false},
    {CellType::Lstm, "lstm", 4, true},
    {CellType::Gru, "gru", 3, false},
};
inline constexpr int kCellKindCount = sizeof(kCellKinds) / sizeof(kCellKinds[0]);

inline const CellKind& cell_kind(CellType cell) { return kCellKinds[static_cast<int>(cell)]; }
inline int gate_count(CellType cell) { return cell_kind(cell).gates; }

}  // namespace rnn
