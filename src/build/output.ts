// The build's answer: newline-delimited JSON as the docker CLI, docker-py
// and compose read it ({"stream"}, {"aux"}, {"errorDetail","error"}).
import { PassThrough } from 'node:stream';

export class BuildOutput {
  readonly body = new PassThrough();

  constructor(private readonly quiet: boolean) {}

  private line(obj: unknown): void {
    if (!this.body.destroyed && !this.body.writableEnded) this.body.write(JSON.stringify(obj) + '\n');
  }

  /** Text the CLI prints as is (suppressed with q=1). */
  stream(text: string): void {
    if (!this.quiet && text !== '') this.line({ stream: text });
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
