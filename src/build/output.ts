// The build's answer: newline-delimited JSON as the docker CLI, docker-py
// and compose read it ({"stream"}, {"aux"}, {"errorDetail","error"}).
import { PassThrough } from 'node:stream';

export class BuildOutput {
  readonly body = new PassThrough();

  constructor(private readonly quiet: boolean) {}

  private line(obj: unknown): boolean {
    if (this.body.destroyed || this.body.writableEnded) return true;
    return this.body.write(JSON.stringify(obj) + '\n');
  }

  /** Text the CLI prints as is (suppressed with q=1); false when the client is behind. */
  stream(text: string): boolean {
    return this.quiet || text === '' ? true : this.line({ stream: text });
  }

  /** Resolves once the client has taken what was written (or is gone). */
  drained(): Promise<void> {
    if (!this.body.writableNeedDrain || this.body.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.body.off('drain', done);
        this.body.off('close', done);
        resolve();
      };
      this.body.once('drain', done);
      this.body.once('close', done);
    });
  }

  aux(id: string): void {
    this.line({ aux: { ID: id } });
  }

  /** The last line of a failed build; `code` becomes the CLI's exit status. */
  fail(message: string, code = 1): void {
    this.line({ errorDetail: { code, message }, error: message });
    this.end();
  }

  /** With q=1 the image ID is all that is printed. */
  done(id: string): void {
    if (this.quiet) this.line({ stream: `${id}\n` });
    this.end();
  }

  end(): void {
    if (!this.body.writableEnded) this.body.end();
  }
}
