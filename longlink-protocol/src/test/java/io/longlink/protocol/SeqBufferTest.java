package io.longlink.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

class SeqBufferTest {

  @Test
  void keepsConsecutiveEntriesUntilAcked() {
    SeqBuffer<String> b = new SeqBuffer<>(4, 100);
    b.add(7, "a", 10);
    b.add(8, "b", 10);
    b.add(9, "c", 10);
    assertThat(b.get(8)).isEqualTo("b");
    assertThat(b.get(6)).isNull();
    assertThat(b.get(10)).isNull();
    assertThat(b.after(0)).isEqualTo("a"); // the peer is behind what is kept: start at the oldest
    assertThat(b.after(7)).isEqualTo("b");
    assertThat(b.after(9)).isNull();
    List<String> dropped = new ArrayList<>();
    assertThat(b.removeUpTo(8, dropped::add)).isEqualTo(2);
    assertThat(dropped).containsExactly("a", "b");
    assertThat(b.firstSeq()).isEqualTo(9);
    assertThat(b.bytes()).isEqualTo(10);
    assertThat(b.removeUpTo(100, null)).isEqualTo(1);
    assertThat(b.isEmpty()).isTrue();
    b.add(42, "after empty, any number", 1);
    assertThat(b.get(42)).isNotNull();
  }

  @Test
  void boundsInEntriesAndBytes() {
    SeqBuffer<String> b = new SeqBuffer<>(2, 15);
    b.add(1, "a", 10);
    assertThat(b.fits(6)).isFalse();
    assertThat(b.fits(5)).isTrue();
    b.add(2, "b", 5);
    assertThat(b.fits(0)).isFalse();
    assertThatThrownBy(() -> b.add(3, "c", 0)).hasMessageContaining("buffer full");
  }

  @Test
  void refusesAGap() {
    SeqBuffer<String> b = new SeqBuffer<>(10, 100);
    b.add(1, "a", 1);
    assertThatThrownBy(() -> b.add(3, "c", 1)).hasMessage("seq 3 (expected: 2)");
  }

  /** Random adds and acks against a plain deque as the model. */
  @Property(tries = 300)
  void behavesLikeADeque(@ForAll @Size(max = 200) List<@IntRange(min = 0, max = 5) Integer> ops) {
    SeqBuffer<Long> b = new SeqBuffer<>(50, 10_000);
    ArrayDeque<Long> model = new ArrayDeque<>();
    long next = 1;
    for (int op : ops) {
      if (op < 4 && b.fits(3)) {
        b.add(next, next, 3);
        model.add(next);
        next++;
      } else if (!model.isEmpty()) {
        long upTo = model.peekFirst() + op;
        b.removeUpTo(upTo, null);
        model.removeIf(s -> s <= upTo);
      }
      assertThat(b.size()).isEqualTo(model.size());
      assertThat(b.bytes()).isEqualTo(3L * model.size());
      for (long s : model) {
        assertThat(b.get(s)).isEqualTo(s);
      }
    }
  }
}
